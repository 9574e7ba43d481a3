/*
 * testmain.h - main() for cmocka unit tests. CTest runs each case as its own
 * entry by passing the case name as argv[1] (tests/CMakeLists.txt extracts
 * the names from cmocka_unit_test(...) lines); without an argument every
 * case runs.
 */
#ifndef TU_TESTMAIN_H
#define TU_TESTMAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define TU_TEST_MAIN(tests)                                          \
	int main(int argc, char **argv)                              \
	{                                                            \
		if (argc > 1)                                        \
			cmocka_set_test_filter(argv[1]);             \
		return cmocka_run_group_tests(tests, NULL, NULL);    \
	}

#endif
