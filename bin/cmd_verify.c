/* cmd_verify.c -- sq25 verify (placeholder until its module lands). */
#include "cli.h"

const char cmd_verify_usage[] = "usage: sq25 verify ...\n  (this command is not yet available in this build)\n";

int cmd_verify(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
