/* main.c: the pocketflow command line. Parses argv, runs one subcommand, prints errors; the only
 * place that exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        puts("pocketflow 0.1.0");
        return 0;
    }
    fprintf(stderr, "pocketflow: nothing here yet\n");
    return 1;
}
