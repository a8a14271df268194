/* The subcommands of the dmacoh tool.  Each lives in tools/cmd_<name>.c and returns the exit
 * status: 0 clean, 1 findings or corruption, 2 usage or input error.  Only tools/ print or
 * exit. */
#ifndef DC_TOOLS_CMDS_H
#define DC_TOOLS_CMDS_H

int dc_cmd_list(int argc, char **argv);     /* cmd_list.c */
int dc_cmd_platform(int argc, char **argv); /* cmd_platform.c */
int dc_cmd_demo(int argc, char **argv);     /* cmd_demo.c */
int dc_cmd_explain(int argc, char **argv);  /* cmd_explain.c */

#endif
