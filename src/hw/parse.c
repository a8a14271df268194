/* Strict number parsing and one-line quoting of values for error messages (see parse.h).  No
 * locale, no strtoull: strtoull takes blanks, signs ("-1" is UINT64_MAX) and, via errno only,
 * reports overflow. */
#include "parse.h"

#include <stdio.h>
#include <string.h>

#include "dmacoh/common.h"

int dc_parse_u64n(const char *s, size_t n, unsigned flags, uint64_t max, uint64_t *out)
{
	const char *e = s + n;
	uint64_t v = 0, base = 10;
	bool overflow = false;
	if ((flags & DC_NUM_HEX) && n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	const char *digits = s;
	for (; s < e; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		else
			v = v * base + d;
	}
	if (s == digits)
		return DC_ERR_PARSE;
	uint64_t scale = 1;
	if ((flags & (DC_NUM_SIZE | DC_NUM_RATE)) && s < e) {
		static const char units[] = "kmgt";
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
		const char *u = c ? strchr(units, c) : NULL;
		if (u) {
			for (const char *x = units; x <= u; x++)
				scale *= (flags & DC_NUM_SIZE) ? 1024 : 1000;
			s++;
			if ((flags & DC_NUM_SIZE) && e - s == 2 && (s[0] == 'i' || s[0] == 'I') &&
			    (s[1] == 'B' || s[1] == 'b'))
				s += 2;
		}
	}
	if (s != e)
		return DC_ERR_PARSE;
	if (overflow || v > UINT64_MAX / scale || v * scale > max)
		return DC_ERR_RANGE;
	*out = v * scale;
	return DC_OK;
}

int dc_parse_u64(const char *s, unsigned flags, uint64_t max, uint64_t *out)
{
	return dc_parse_u64n(s, strlen(s), flags, max, out);
}

const char *dc_parse_quote(char *dst, size_t n, const char *s)
{
	size_t o = 0;
	for (; *s; s++) {
		char esc[5];
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			strcpy(esc, "\\n");
		else if (c == '\t')
			strcpy(esc, "\\t");
		else if (c == '\r')
			strcpy(esc, "\\r");
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			esc[0] = (char)c, esc[1] = 0;
		size_t l = strlen(esc);
		if (o + l + 4 > n) {
			strcpy(dst + DC_MIN(o, n - 4), "...");
			return dst;
		}
		memcpy(dst + o, esc, l);
		o += l;
	}
	dst[o] = 0;
	return dst;
}
