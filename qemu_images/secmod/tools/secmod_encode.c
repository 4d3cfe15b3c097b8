/*
 * secmod_encode IN.txt OUT.bin: encode a text description of a security
 * message (format in secmod_text.h) with the module's own serializer.
 * Exit status: 0 ok, 2 bad usage or input, 1 output could not be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secmod_text.h"

#define MAX_INPUT (8u * 1024u * 1024u)

static char text[MAX_INPUT];
static secmod_text_msg_t msg;

int main(int argc, char **argv)
{
    FILE *f;
    size_t n;
    char err[300];
    const uint8_t *out;
    size_t outlen;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.txt OUT.bin\n", argc > 0 ? argv[0] : "secmod_encode");
        return 2;
    }
    f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: ", argv[1]);
        perror(NULL);
        return 2;
    }
    n = fread(text, 1, sizeof(text), f);
    if (ferror(f) || (n == sizeof(text) && fgetc(f) != EOF)) {
        fprintf(stderr, "%s: read error or larger than %u bytes\n", argv[1], MAX_INPUT);
        return 2;
    }
    if (f != stdin)
        fclose(f);
    if (secmod_text_parse(text, n, &msg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 2;
    }
    rc = secmod_text_encode(&msg, &out, &outlen);
    if (rc != SECMOD_SER_OK) {
        fprintf(stderr, "%s: encoding failed (%s)\n", argv[1],
                rc == SECMOD_SER_TOO_BIG ? "message too big" : "invalid message");
        return 2;
    }
    f = fopen(argv[2], "wb");
    if (f == NULL || fwrite(out, 1, outlen, f) != outlen || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write: ", argv[2]);
        perror(NULL);
        return 1;
    }
    return 0;
}
