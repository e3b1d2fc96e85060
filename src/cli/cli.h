/* cli.h: subcommands that live in their own files (src/cli/), called from src/main.c. Each
 * parses its own arguments (argv after the subcommand name) and returns 0 or a negative PF_E*
 * code with the message set; main.c prints it and exits. */
#ifndef PF_CLI_CLI_H
#define PF_CLI_CLI_H

#define PF_DEFAULT_MODEL "assets/models/fmnist_bn.h5"

/* pocketflow run: one learner on one model (see cmd_run.c). */
int pf_cli_run(int argc, char **argv);

#endif
