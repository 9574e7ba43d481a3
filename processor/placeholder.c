/* placeholder */ typedef int tu__placeholder_processor;
