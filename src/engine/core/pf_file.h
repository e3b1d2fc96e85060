/* pf_file.h: whole-file writes that never leave a half-written file behind.
 *
 * pf_file_write_atomic writes to "<path>.tmp", flushes, and renames it over path, so a reader
 * (or a crash) sees either the old file or the new one. */
#ifndef PF_ENGINE_CORE_PF_FILE_H
#define PF_ENGINE_CORE_PF_FILE_H

#include <stddef.h>

/* Writes len bytes of data to path atomically. Returns 0 or -PF_EIO / -PF_EINVAL with a message
 * naming the file. */
int pf_file_write_atomic(const char *path, const void *data, size_t len);

/* Reads the whole file into a new NUL-terminated buffer (*out, caller frees; *len may be NULL).
 * Returns 0, -PF_EIO (naming the file) or -PF_ENOMEM. */
int pf_file_read(const char *path, char **out, size_t *len);

#endif
