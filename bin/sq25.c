/* sq25.c -- the sq25 command-line tool: dispatch to sub-commands. */
#include "cli.h"

#include <string.h>

static const cli_command commands[] = {
    {"info", "describe radar or gridded rain files", cmd_info_usage, cmd_info},
    {"nowcast", "extrapolate the latest frames up to +60 min", cmd_nowcast_usage, cmd_nowcast},
    {"verify", "score a forecast against observations", cmd_verify_usage, cmd_verify},
    {"qc", "quality-control rain sensor series", cmd_qc_usage, cmd_qc},
    {"interpolate", "sensors (and radar) onto a street grid", cmd_interpolate_usage,
     cmd_interpolate},
    {"render", "draw a field as a PNG map", cmd_render_usage, cmd_render},
    {"run", "the whole chain: read, QC, merge, nowcast, warn, maps", cmd_run_usage, cmd_run},
    {"links", "path rain per microwave link (OpenSense CML)", cmd_links_usage, cmd_links},
    {"serve", "the warning service: watch an inbox, publish warnings and CAP", cmd_serve_usage, cmd_serve},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

const cli_command *cli_find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out,
            "sq25 %s -- street-level heavy-rain nowcasting\n\n"
            "usage: sq25 <command> [options]\n\ncommands:\n",
            sq25_version_string());
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-12s %s\n", "help", "help [COMMAND]: this text, or a command's options");
    fprintf(out, "\nsq25 --version prints the version. Exit status: 0 ok, 1 failure, 2 usage.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stdout);
        return CLI_OK;
    }
    const cli_command *c = cli_find_command(argv[1]);
    if (!c) return cli_usage_error("help", "unknown command '%s'", argv[1]);
    fputs(c->usage, stdout);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("sq25 %s\n", sq25_version_string());
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    const cli_command *c = cli_find_command(name);
    if (!c) {
        fprintf(stderr, "sq25: unknown command '%s' (see 'sq25 help')\n", name);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->usage, stdout);
            return CLI_OK;
        }
    }
    return c->run(argc - 1, argv + 1);
}
