/* dmacoh platform show NAME|FILE: the resolved profile (built-in, or a file over its base) in
 * the profile file format, every key explicit, so the output is itself a profile.
 * dmacoh platform check FILE: silent and 0 when the file is a valid profile; otherwise its
 * "file:line: what is wrong" on stderr and 2, like a compiler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/platform.h"
#include "cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dmacoh platform show NAME|FILE   print the resolved profile (INI)\n"
	        "       dmacoh platform check FILE       check a profile file\n\n"
	        "NAME is a built-in profile (see 'dmacoh list platforms'); anything else is read\n"
	        "as a profile file (a file named like a built-in: ./NAME).  The format is in\n"
	        "docs/profiles.md.\n");
}

static int show(const char *what)
{
	struct dc_platform p;
	char err[512];
	if (dc_platform_builtin(what, &p) != DC_OK) {
		int r = dc_platform_load(what, &p, err, sizeof(err));
		if (r == DC_ERR_IO && !strchr(what, '/')) {
			fprintf(stderr,
			        "%s (and no built-in profile is called '%s': see 'dmacoh list "
			        "platforms')\n",
			        err, what);
			return 2;
		}
		if (r != DC_OK) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	}
	int n = dc_platform_format(&p, NULL, 0);
	char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (!text) {
		fprintf(stderr, "dmacoh platform: out of memory\n");
		return 2;
	}
	dc_platform_format(&p, text, (size_t)n + 1);
	fputs(text, stdout);
	free(text);
	return 0;
}

static int check(const char *path)
{
	struct dc_platform p;
	char err[512];
	if (dc_platform_load(path, &p, err, sizeof(err)) != DC_OK) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	return 0;
}

int dc_cmd_platform(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "dmacoh platform: missing action (show or check; try 'dmacoh "
		                "platform --help')\n");
		return 2;
	}
	const char *action = argv[1];
	if (strcmp(action, "show") && strcmp(action, "check")) {
		fprintf(stderr, "dmacoh platform: unknown action '%s' (show or check)\n", action);
		return 2;
	}
	if (argc != 3) {
		fprintf(stderr, "dmacoh platform %s: %s\n", action,
		        argc < 3
		            ? (strcmp(action, "show") ? "missing FILE" : "missing NAME or FILE")
		            : "too many arguments");
		return 2;
	}
	return strcmp(action, "show") ? check(argv[2]) : show(argv[2]);
}
