#ifndef APP_H
#define APP_H
/* Subsystems the main loop drives. Each *_poll does the work that is due and
 * returns nonzero when it wants to be called again without sleeping. */
void sys_cmds_init(void);
void net_init(void);
int net_poll(void);
#ifdef WITH_SECMOD
void secmod_glue_init(void);
void secmod_glue_poll(void);
#endif
#endif
