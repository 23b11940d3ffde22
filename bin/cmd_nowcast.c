/* cmd_nowcast.c -- sq25 nowcast (placeholder until its module lands). */
#include "cli.h"

const char cmd_nowcast_usage[] = "usage: sq25 nowcast ...\n  (this command is not yet available in this build)\n";

int cmd_nowcast(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
