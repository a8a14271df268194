/* libFuzzer harness for the .reg parser (src/kernel/regfile.c).  Besides "never crash, never
 * read out of bounds" (ASan, UBSan), it checks the parser's promises:
 *  - on error the message is one terminated "fuzz.reg:LINE: what" line and the registry is
 *    exactly as before (nothing of the file applied);
 *  - the same bytes applied to two fresh registries give the same tree (no hidden state).
 * Not covered here: reading the file (dc_regfile_load, tests/test_kernel_registry.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/common.h"
#include "kernel/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                              \
	do {                                                   \
		fprintf(stderr, "fuzz_regfile: " __VA_ARGS__); \
		abort();                                       \
	} while (0)

/* FNV-1a over every key name, value name, type and data, depth first. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211u;
	return h;
}

static uint64_t tree_hash(const struct dc_regkey *k, uint64_t h)
{
	size_t n;
	const WCHAR *name = dc_reg_key_name(k, &n);
	h = mix(h, name, n * sizeof(WCHAR));
	struct dc_regval_view v;
	for (size_t i = 0; dc_reg_value_at(k, i, &v); i++) {
		h = mix(h, v.name, v.nlen * sizeof(WCHAR));
		h = mix(h, &v.type, sizeof(v.type));
		h = mix(h, v.data, v.len);
	}
	for (size_t i = 0; i < dc_reg_n_subkeys(k); i++)
		h = tree_hash(dc_reg_subkey_at(k, i), mix(h, "{", 1));
	return mix(h, "}", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly `size` bytes: ASan catches a read past the end. */
	uint8_t *buf = malloc(size ? size : 1);
	struct dc_reg *a = dc_reg_create(), *b = dc_reg_create();
	if (!buf || !a || !b)
		FAIL("out of memory\n");
	memcpy(buf, data, size);
	uint64_t before = tree_hash(dc_reg_root(a), 14695981039346656037u);
	char err[512];
	memset(err, 0x5a, sizeof(err));
	int r = dc_regfile_parse(a, "fuzz.reg", buf, size, err, sizeof(err));
	if (r != 0) {
		if (r != DC_ERR_PARSE && r != DC_ERR_NOMEM)
			FAIL("unexpected return %d\n", r);
		if (!memchr(err, 0, sizeof(err)) || strncmp(err, "fuzz.reg:", 9) ||
		    strchr(err, '\n'))
			FAIL("bad message\n");
		if (tree_hash(dc_reg_root(a), 14695981039346656037u) != before)
			FAIL("registry changed on error: %s\n", err);
	} else {
		if (dc_regfile_parse(b, "fuzz.reg", buf, size, err, sizeof(err)) != 0)
			FAIL("second parse failed: %s\n", err);
		if (tree_hash(dc_reg_root(a), 1) != tree_hash(dc_reg_root(b), 1))
			FAIL("same input, different trees\n");
	}
	dc_reg_destroy(a);
	dc_reg_destroy(b);
	free(buf);
	return 0;
}
