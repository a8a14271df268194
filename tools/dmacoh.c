/* dmacoh, the command-line tool: main only finds the subcommand and hands it its arguments;
 * each subcommand lives in tools/cmd_<name>.c (cmds.h) and returns the exit status.
 * Exit status: 0 clean, 1 findings or corruption, 2 usage or input error.  Help goes to
 * stdout (it was asked for); a usage error is one line on stderr. */
#include <stdio.h>
#include <string.h>

#include "dmacoh/common.h"
#include "cmds.h"

#ifndef DC_VERSION
#define DC_VERSION "0.1.0"
#endif

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
} commands[] = {
    {"run", dc_cmd_run, "--driver NAME|FILE [OPTIONS]",
     "run a driver on its device under a workload; report what it breaks"},
    {"list", dc_cmd_list, "KIND", "list what dmacoh knows: platforms, devices, drivers, rules"},
    {"platform", dc_cmd_platform, "show NAME|FILE | check FILE",
     "print a resolved platform profile, or check a profile file"},
    {"demo", dc_cmd_demo, "[ARGS]", "watch a coherency bug happen, step by step"},
    {"torture", dc_cmd_torture, "[--seconds N|--runs N] [OPTIONS]",
     "random runs of every driver and twin; fail on any wrong verdict"},
    {"explain", dc_cmd_explain, "RULE", "what a sanitizer rule checks, why, and the fix"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dmacoh COMMAND [ARGS]\n"
	           "       dmacoh help [COMMAND] | --help | --version\n\n"
	           "commands:\n");
	for (size_t i = 0; i < DC_ARRAY_SIZE(commands); i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(f, "  %-38s %s\n", left, commands[i].summary);
	}
	fprintf(f, "\n'dmacoh COMMAND --help' describes a command.\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < DC_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "dmacoh: missing command (try 'dmacoh --help')\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || (!strcmp(cmd, "help") && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("dmacoh %s\n", DC_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		const struct command *c = find(argv[2]);
		if (!c || argc > 3) {
			fprintf(stderr,
			        "dmacoh: help: unknown command '%s' (try 'dmacoh --help')\n",
			        argv[2]);
			return 2;
		}
		char *help_argv[] = {argv[2], "--help", NULL};
		return c->run(2, help_argv);
	}
	const struct command *c = find(cmd);
	if (!c) {
		fprintf(stderr, "dmacoh: unknown command '%s' (try 'dmacoh --help')\n", cmd);
		return 2;
	}
	return c->run(argc - 1, argv + 1);
}
