/* cmd_run.c -- sq25 run (placeholder until its module lands). */
#include "cli.h"

const char cmd_run_usage[] = "usage: sq25 run ...\n  (this command is not yet available in this build)\n";

int cmd_run(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
