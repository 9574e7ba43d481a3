/* placeholder until the component lands */
int main(void) { return 0; }
