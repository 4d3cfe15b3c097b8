#ifndef SHELL_H
#define SHELL_H
typedef struct {
    const char *name;
    const char *usage;
    const char *help;
    int (*fn)(int argc, char **argv); /* return 0 ok; nonzero prints "error" */
} shell_cmd_t;

#define SHELL_PROMPT "refdev> "
void shell_init(void);
void shell_register(const shell_cmd_t *cmds, int n);
void shell_poll(void);       /* consume received characters, run complete lines */
void shell_prompt(void);
/* print an asynchronous message without breaking the prompt line */
void shell_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
