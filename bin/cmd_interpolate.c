/* cmd_interpolate.c -- sq25 interpolate (placeholder until its module lands). */
#include "cli.h"

const char cmd_interpolate_usage[] = "usage: sq25 interpolate ...\n  (this command is not yet available in this build)\n";

int cmd_interpolate(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
