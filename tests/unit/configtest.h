/*
 * configtest.h - helpers of the config tests (config_test.c, config_mongo_test.c):
 * loading a YAML text, and checking that a load fails with a message that
 * starts with "file:line:col: path: " and contains a key phrase. Include after
 * testmain.h.
 */
#ifndef TU_CONFIGTEST_H
#define TU_CONFIGTEST_H

#include <string.h>

#include "config.h"

static inline tu_status load(const char *yaml, struct tu_config **cfg, char *err, size_t errlen)
{
	*cfg = NULL;
	err[0] = '\0';
	return tu_config_load_string("t.yaml", yaml, strlen(yaml), cfg, err, errlen);
}

/* The load fails with TU_EINVAL; the message starts with prefix and contains phrase. */
static inline void expect_error(const char *yaml, const char *prefix, const char *phrase)
{
	struct tu_config *cfg = (struct tu_config *)0x1;
	char err[1024] = "";
	tu_status st = tu_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (st != TU_EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strstr(err, phrase) == NULL)
		print_error("status %s, message: %s\nwanted prefix: %s\nwanted phrase: %s\n",
			    tu_status_str(st), err, prefix, phrase);
	assert_int_equal(st, TU_EINVAL);
	assert_ptr_equal(cfg, (struct tu_config *)0x1); /* untouched on failure */
	assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(err, phrase));
}

#endif
