/* dmacoh explain RULE: everything the rule table says about one rule (by ID, any case, or by
 * name), wrapped for a terminal: when it fires, its message form, why it matters, what
 * `manifested` means for it, the fix.  Unknown rule: one line on stderr, exit 2. */
#include <stdio.h>
#include <string.h>

#include "dmacoh/check.h"
#include "cmds.h"

#define WIDTH 78

static void usage(FILE *f)
{
	fprintf(f, "usage: dmacoh explain RULE\n\n"
	           "RULE is an ID (C01, a07) or a name (stale-device-read); 'dmacoh list rules'\n"
	           "lists them.\n");
}

/* "label: text", the text wrapped at WIDTH under a hanging indent. */
static void field(const char *label, const char *text)
{
	const int indent = 14;
	int col = printf("  %-*s", indent - 2, label);
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t w = strcspn(p, " ");
		if (!w)
			break;
		if (col > indent && col + 1 + (int)w > WIDTH) {
			col = printf("\n%*s", indent, "") - 1;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", (int)w, p);
		p += w;
	}
	putchar('\n');
}

int dc_cmd_explain(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "dmacoh explain: %s (try 'dmacoh list rules')\n",
		        argc < 2 ? "missing RULE" : "too many arguments");
		return 2;
	}
	int r = dc_rule_find(argv[1]);
	if (r < 0) {
		fprintf(stderr, "dmacoh explain: unknown rule '%s' (try 'dmacoh list rules')\n",
		        argv[1]);
		return 2;
	}
	const struct dc_rule_info *ri = dc_rule_info((enum dc_rule)r);
	printf("%s %s (%s)\n", ri->id, ri->name, dc_severity_name(ri->severity));
	if (ri->guideline[0])
		field("guideline:", ri->guideline);
	if (ri->dv[0]) {
		char dv[128];
		snprintf(dv, sizeof(dv), "bug check 0xE6, codes %s", ri->dv);
		field("verifier:", dv);
	}
	if (ri->bugcheck)
		field("bug check:", ri->bugcheck);
	field("fires when:", ri->summary);
	field("message:", ri->message);
	field("details:", ri->details);
	field("manifested:", ri->manifested);
	field("fix:", ri->fix);
	return 0;
}
