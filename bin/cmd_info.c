/* cmd_info.c -- sq25 info (placeholder until its module lands). */
#include "cli.h"

const char cmd_info_usage[] = "usage: sq25 info ...\n  (this command is not yet available in this build)\n";

int cmd_info(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
