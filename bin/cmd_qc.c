/* cmd_qc.c -- sq25 qc (placeholder until its module lands). */
#include "cli.h"

const char cmd_qc_usage[] = "usage: sq25 qc ...\n  (this command is not yet available in this build)\n";

int cmd_qc(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
