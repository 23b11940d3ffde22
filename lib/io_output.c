/* io_output.c -- whole outputs for every writer of the library. A writer never writes the
 * final path: it writes a temporary file in the same folder (so that the rename stays on one
 * file system), which is flushed to disk and renamed over the final path only when complete.
 * A crash, a kill or a failed write leaves the previous file as it was; on failure the
 * temporary is removed, and the temporary of a killed writer is removed by the next write of
 * the same path. */
#define _GNU_SOURCE /* sync_file_range (Linux), for sq25__output_writeback */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinct temporary names for concurrent writers of one process (threads). */
static unsigned long next_serial(void)
{
    static unsigned long serial;
    return __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
}

/* SQ25_ERR_PERMISSION for refusals of access, SQ25_ERR_WRITE for the rest. */
static int code_of_errno(int err)
{
    return err == EACCES || err == EPERM || err == EROFS ? SQ25_ERR_PERMISSION : SQ25_ERR_WRITE;
}

/* Folder part of path ("." when there is none) into buf. */
static void folder_of(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(buf, cap, ".");
    else if (slash == path) snprintf(buf, cap, "/");
    else snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

static int check_destination(sq25_ctx *ctx, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return sq25__fail(ctx, SQ25_ERR_WRITE, "%s: cannot write: %s", path,
                          S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
    char folder[4096];
    folder_of(path, folder, sizeof folder);
    if (stat(folder, &st) != 0)
        return sq25__fail(ctx, code_of_errno(errno), "%s: cannot write: folder %s: %s", path,
                          folder, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sq25__fail(ctx, SQ25_ERR_WRITE, "%s: cannot write: %s is not a folder", path,
                          folder);
    return SQ25_OK;
}

/* Remove temporaries of this output left by writers that were killed (their process is
 * gone): "<folder>/.<name>.tmp-<pid>-<serial>" with no process <pid>. */
static void remove_stale_temporaries(const char *path)
{
    char folder[4096], prefix[512];
    folder_of(path, folder, sizeof folder);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    int plen = snprintf(prefix, sizeof prefix, ".%s.tmp-", name);
    if (plen <= 0 || (size_t)plen >= sizeof prefix) return;
    DIR *d = opendir(folder);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, (size_t)plen) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (pid > 0 && *end == '-' && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char stale[4608];
            snprintf(stale, sizeof stale, "%s/%s", folder, e->d_name);
            unlink(stale);
        }
    }
    closedir(d);
}

int sq25__output_begin(sq25_ctx *ctx, const char *path, sq25__output *o)
{
    memset(o, 0, sizeof *o);
    if (!path || !path[0])
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "output path is NULL or empty");
    int rc = check_destination(ctx, path);
    if (rc) return rc;
    remove_stale_temporaries(path);
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    size_t cap = strlen(path) + 64;
    o->path = sq25__strdup(ctx, path);
    o->tmp = sq25__malloc(ctx, cap);
    if (!o->path || !o->tmp) {
        sq25__output_abort(ctx, o);
        return SQ25_ERR_NOMEM;
    }
    /* "<folder>/.<name>.tmp-<pid>-<serial>": hidden, in the same folder, unique. */
    snprintf(o->tmp, cap, "%.*s.%s.tmp-%ld-%lu", (int)dir_len, path, path + dir_len,
             (long)getpid(), next_serial());
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int err = errno;
        sq25__free(ctx, o->tmp);
        o->tmp = NULL;
        sq25__output_abort(ctx, o);
        return sq25__fail(ctx, code_of_errno(err), "%s: cannot write (temporary file): %s",
                          path, strerror(err));
    }
    close(fd);
    return SQ25_OK;
}

FILE *sq25__output_fopen(sq25_ctx *ctx, const sq25__output *o)
{
    FILE *fp = fopen(o->tmp, "wb");
    if (!fp)
        sq25__fail(ctx, code_of_errno(errno), "%s: cannot write: %s", o->path, strerror(errno));
    return fp;
}

int sq25__output_fclose(sq25_ctx *ctx, const sq25__output *o, FILE *fp)
{
    errno = 0;
    int err = 0;
    if (fflush(fp) != 0 || ferror(fp)) err = errno ? errno : EIO;
    if (fclose(fp) != 0 && !err) err = errno ? errno : EIO;
    if (err)
        return sq25__fail(ctx, code_of_errno(err), "%s: write failed: %s", o->path,
                          strerror(err));
    return SQ25_OK;
}

/* fsync a file or folder by name; 0 or an errno value. Folders that cannot be synced
 * (EINVAL on some file systems) are not an error. */
static int sync_path(const char *path, bool folder)
{
    int fd = open(path, (folder ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) return errno;
    int err = fsync(fd) == 0 || (folder && errno == EINVAL) ? 0 : errno;
    close(fd);
    return err;
}

void sq25__output_writeback(const sq25__output *o)
{
#ifdef SYNC_FILE_RANGE_WRITE
    const int fd = o->tmp ? open(o->tmp, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return;
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* a hint: errors show at the fsync */
    close(fd);
#else
    (void)o;
#endif
}

int sq25__output_commit(sq25_ctx *ctx, sq25__output *o)
{
    int err = sync_path(o->tmp, false);
    if (!err && rename(o->tmp, o->path) != 0) err = errno;
    if (err) {
        int rc = sq25__fail(ctx, code_of_errno(err), "%s: cannot complete the write: %s",
                            o->path, strerror(err));
        sq25__output_abort(ctx, o);
        return rc;
    }
    char folder[4096];
    folder_of(o->path, folder, sizeof folder);
    sync_path(folder, true); /* the rename itself on disk; the file is whole either way */
    sq25__free(ctx, o->tmp);
    sq25__free(ctx, o->path);
    o->tmp = o->path = NULL;
    return SQ25_OK;
}

void sq25__output_abort(sq25_ctx *ctx, sq25__output *o)
{
    if (o->tmp) unlink(o->tmp);
    sq25__free(ctx, o->tmp);
    sq25__free(ctx, o->path);
    o->tmp = o->path = NULL;
}
