/* cmd_render.c -- sq25 render (placeholder until its module lands). */
#include "cli.h"

const char cmd_render_usage[] = "usage: sq25 render ...\n  (this command is not yet available in this build)\n";

int cmd_render(int argc, char **argv)
{
    (void)argc;
    return cli_error(argv[0], "this command is not yet available in this build");
}
