/* Line shell on UART0: echo, backspace, one command per line, "help". */
#include <stdarg.h>
#include <string.h>
#include "console.h"
#include "shell.h"
#include "uart.h"

#define MAX_GROUPS 16
#define MAX_ARGS 12

static const shell_cmd_t *groups[MAX_GROUPS];
static int group_len[MAX_GROUPS], n_groups;
static char line[256];
static unsigned line_len;
static int last_was_cr;
static int at_prompt; /* the prompt (and maybe a partial input line) is on the console */

void shell_register(const shell_cmd_t *cmds, int n)
{
    if (n_groups < MAX_GROUPS) {
        groups[n_groups] = cmds;
        group_len[n_groups++] = n;
    }
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (int g = 0; g < n_groups; g++) {
        for (int i = 0; i < group_len[g]; i++) {
            con_printf("  %-28s %s\n", groups[g][i].usage, groups[g][i].help);
        }
    }
    return 0;
}

static const shell_cmd_t help_cmd[] = {{"help", "help", "list commands", cmd_help}};

void shell_init(void) { shell_register(help_cmd, 1); }
void shell_prompt(void)
{
    con_puts(SHELL_PROMPT);
    at_prompt = 1;
}

/* Asynchronous messages (network events, ...) go on their own line, then the
 * prompt and what the user typed so far are printed again. */
void shell_log(const char *fmt, ...)
{
    va_list ap;
    if (at_prompt) {
        con_puts("\n");
    }
    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
    con_puts("\n");
    if (at_prompt) {
        con_puts(SHELL_PROMPT);
        uart_write(line, line_len);
    }
}

static void run_line(char *s)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *tok = strtok(s, " \t"); tok && argc < MAX_ARGS; tok = strtok(NULL, " \t")) {
        argv[argc++] = tok;
    }
    if (argc == 0) {
        return;
    }
    for (int g = 0; g < n_groups; g++) {
        for (int i = 0; i < group_len[g]; i++) {
            if (strcmp(argv[0], groups[g][i].name) == 0) {
                if (groups[g][i].fn(argc, argv) != 0) {
                    con_printf("error: usage: %s\n", groups[g][i].usage);
                }
                return;
            }
        }
    }
    con_printf("error: unknown command '%s' (try help)\n", argv[0]);
}

void shell_poll(void)
{
    int c;
    while ((c = uart_getc()) >= 0) {
        if (c == '\n' && last_was_cr) {
            last_was_cr = 0;
            continue;
        }
        last_was_cr = (c == '\r');
        if (c == '\r' || c == '\n') {
            con_puts("\n");
            at_prompt = 0;
            line[line_len] = 0;
            run_line(line);
            line_len = 0;
            shell_prompt();
        } else if (c == 0x08 || c == 0x7f) {
            if (line_len) {
                line_len--;
                con_puts("\b \b");
            }
        } else if (c >= 0x20 && c < 0x7f && line_len < sizeof line - 1) {
            line[line_len++] = (char)c;
            uart_putc((char)c);
        }
    }
}
