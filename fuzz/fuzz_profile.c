/* libFuzzer harness for the profile parser.  Besides "never crash, never read out of bounds"
 * (ASan, UBSan), it checks the parser's promises:
 *  - on error, *p is untouched and the message is a terminated "file:..." line;
 *  - on success, the profile validates, and the writer's text parses back to a profile that
 *    writes the very same text (the round trip 'dmacoh platform show' relies on).
 * Not covered here: dc_platform_load's file handling (tests/test_platform.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                              \
	do {                                                   \
		fprintf(stderr, "fuzz_profile: " __VA_ARGS__); \
		abort();                                       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly `size` bytes: ASan catches a read past the end. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);

	struct dc_platform p, q;
	char err[512], err2[512];
	memset(&p, 0xa5, sizeof(p));
	memset(err, 0x5a, sizeof(err));
	int r = dc_platform_parse(text, size, "fuzz.ini", &p, err, sizeof(err));
	free(text);
	if (r != DC_OK) {
		if (r != DC_ERR_PARSE)
			FAIL("unexpected return %d\n", r);
		if (!memchr(err, 0, sizeof(err)) || strncmp(err, "fuzz.ini:", 9))
			FAIL("bad message\n");
		const unsigned char *b = (const unsigned char *)&p;
		for (size_t i = 0; i < sizeof(p); i++)
			if (b[i] != 0xa5)
				FAIL("*p changed on error: %s\n", err);
		return 0;
	}
	if (dc_platform_validate(&p, err, sizeof(err)) != DC_OK)
		FAIL("parsed profile does not validate: %s\n", err);

	static char t1[8192], t2[8192];
	int n1 = dc_platform_format(&p, t1, sizeof(t1));
	if (n1 <= 0 || (size_t)n1 >= sizeof(t1) || dc_platform_format(&p, NULL, 0) != n1)
		FAIL("format length %d\n", n1);
	if (dc_platform_parse(t1, (size_t)n1, "show.ini", &q, err2, sizeof(err2)) != DC_OK)
		FAIL("written profile does not parse: %s\n%s", err2, t1);
	int n2 = dc_platform_format(&q, t2, sizeof(t2));
	if (n2 != n1 || strcmp(t1, t2))
		FAIL("round trip differs:\n%s---\n%s", t1, t2);
	return 0;
}
