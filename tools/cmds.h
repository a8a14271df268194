/* The subcommands of the dmacoh tool.  Each lives in tools/cmd_<name>.c and returns the exit
 * status: 0 clean, 1 findings or corruption, 2 usage or input error.  Only tools/ print or
 * exit. */
#ifndef DC_TOOLS_CMDS_H
#define DC_TOOLS_CMDS_H

int dc_cmd_list(int argc, char **argv);     /* cmd_list.c */
int dc_cmd_platform(int argc, char **argv); /* cmd_platform.c */
int dc_cmd_demo(int argc, char **argv);     /* cmd_demo.c */
int dc_cmd_explain(int argc, char **argv);  /* cmd_explain.c */
int dc_cmd_run(int argc, char **argv);      /* cmd_run.c */

#include <stddef.h>
/* Where driver modules are: DMACOH_DRIVER_DIR, or drivers/ beside the dmacoh binary. */
const char *dc_tool_driver_dir(char *buf, size_t len); /* cmd_run.c */
/* The driver modules in dir: up to max file names without ".so", sorted, each strdup'ed (the
 * caller frees them).  Returns the count, -1 if dir cannot be read. */
int dc_tool_driver_modules(const char *dir, char **names, size_t max); /* cmd_run.c */
/* The demo's table of every driver module on every platform; 1 if one is not as expected. */
int dc_demo_drivers_table(void); /* demo_table.c */

#endif
