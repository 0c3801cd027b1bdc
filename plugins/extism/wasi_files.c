/* wasi_files.c — an Extism plugin that reads, writes, lists, creates,
 * renames and removes files through wasi-libc beneath the directories a
 * manifest's allowed_paths maps (WASI preopens), drives every WASI file call
 * directly (`op`, so paths and buffers reach the host as given), and prints
 * to stdout and stderr. wasi-libc errors are the call's error:
 * "PATH: strerror"; `op` outputs "errno=N" (WASI numbering) instead. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "warmpool_extism.h"

/* Cuts `input` at its first newline: the text after it, or NULL when there is none. */
static char* after_first_line(char* input) {
  char* newline = strchr(input, '\n');
  if (newline == NULL) return NULL;
  *newline = '\0';
  return newline + 1;
}

static int32_t fail_with_errno(const char* path) {
  const char* reason = strerror(errno);
  size_t length = strlen(path) + 2 + strlen(reason);
  char* message = malloc(length + 1);
  if (message == NULL) return wpx_fail("out of memory");
  snprintf(message, length + 1, "%s: %s", path, reason);
  int32_t rc = wpx_fail(message);
  free(message);
  return rc;
}

/* The contents of the file whose guest path is the input. */
WPX_EXPORT("read") int32_t read_file(void) {
  uint64_t length;
  char* path = wpx_input(&length);
  if (path == NULL) return wpx_fail("out of memory");
  FILE* file = fopen(path, "rb");
  if (file == NULL) {
    int32_t rc = fail_with_errno(path);
    free(path);
    return rc;
  }
  char contents[4096];
  size_t read = fread(contents, 1, sizeof contents, file);
  fclose(file);
  free(path);
  wpx_output(contents, read);
  return 0;
}

/* Input "PATH\nCONTENTS": writes CONTENTS to PATH (created or truncated). */
WPX_EXPORT("write") int32_t write_file(void) {
  uint64_t length;
  char* input = wpx_input(&length);
  if (input == NULL) return wpx_fail("out of memory");
  const char* contents = after_first_line(input);
  if (contents == NULL) {
    free(input);
    return wpx_fail("write: the input is PATH, a newline, then the contents");
  }
  size_t contents_length = (size_t)(input + length - contents);
  FILE* file = fopen(input, "wb");
  if (file == NULL || fwrite(contents, 1, contents_length, file) != contents_length ||
      fclose(file) != 0) {
    int32_t rc = fail_with_errno(input);
    free(input);
    return rc;
  }
  free(input);
  wpx_output_str("written");
  return 0;
}

/* path_open of the input, relative to the first preopen (fd 3), sent to the
 * host as given (wasi-libc would resolve absolute paths itself): "opened" or
 * "errno=N" (WASI numbering). */
WPX_EXPORT("open_raw") int32_t open_raw(void) {
  uint64_t length;
  char* path = wpx_input(&length);
  if (path == NULL) return wpx_fail("out of memory");
  __wasi_fd_t fd;
  __wasi_errno_t error = __wasi_path_open(3, 0, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  free(path);
  if (error == 0) {
    (void)__wasi_fd_close(fd);
    wpx_output_str("opened");
    return 0;
  }
  char text[32];
  snprintf(text, sizeof text, "errno=%u", (unsigned)error);
  wpx_output_str(text);
  return 0;
}

/* The input to stdout and "err:" + input to stderr. */
WPX_EXPORT("print") int32_t print(void) {
  uint64_t length;
  char* text = wpx_input(&length);
  if (text == NULL) return wpx_fail("out of memory");
  printf("%s", text);
  fprintf(stderr, "err:%s", text);
  fflush(stdout);
  fflush(stderr);
  free(text);
  return 0;
}

static int compare_names(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

/* The names in the directory whose guest path is the input (wasi-libc's
 * readdir: fd_readdir with cookies and a 4 KiB buffer), sorted, one a line,
 * without "." and "..". */
WPX_EXPORT("list") int32_t list(void) {
  uint64_t length;
  char* path = wpx_input(&length);
  if (path == NULL) return wpx_fail("out of memory");
  DIR* dir = opendir(path);
  if (dir == NULL) {
    int32_t rc = fail_with_errno(path);
    free(path);
    return rc;
  }
  char** names = NULL;
  size_t count = 0, text_length = 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    char** grown = realloc(names, (count + 1) * sizeof *names);
    if (grown == NULL) return wpx_fail("out of memory");
    names = grown;
    names[count++] = strdup(entry->d_name);
    text_length += strlen(entry->d_name) + 1;
  }
  closedir(dir);
  free(path);
  qsort(names, count, sizeof *names, compare_names);
  char* text = malloc(text_length + 1);
  if (text == NULL) return wpx_fail("out of memory");
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    at += (size_t)sprintf(text + at, "%s%s", i == 0 ? "" : "\n", names[i]);
    free(names[i]);
  }
  free(names);
  wpx_output(text, at);
  free(text);
  return 0;
}

/* Input "OLD\nNEW": creates directory NEW.d, renames file OLD to NEW.d/moved,
 * then removes both again, through wasi-libc (mkdir, rename, unlink, rmdir). */
WPX_EXPORT("tree") int32_t tree(void) {
  uint64_t length;
  char* input = wpx_input(&length);
  if (input == NULL) return wpx_fail("out of memory");
  const char* new_name = after_first_line(input);
  if (new_name == NULL) {
    free(input);
    return wpx_fail("tree: the input is OLD, a newline, then NEW");
  }
  char dir[512], moved[600];
  snprintf(dir, sizeof dir, "%s.d", new_name);
  snprintf(moved, sizeof moved, "%s/moved", dir);
  const char* failed = NULL;
  if (mkdir(dir, 0777) != 0) {
    failed = dir;
  } else if (rename(input, moved) != 0) {
    failed = moved;
  } else if (rename(moved, input) != 0) {
    failed = input;
  } else if (rmdir(dir) != 0) {
    failed = dir;
  }
  int32_t rc = failed != NULL ? fail_with_errno(failed) : (wpx_output_str("done"), 0);
  free(input);
  return rc;
}

/* --- op: one WASI call with the input's arguments, separated by spaces ---
 *   mkdir FD PATH | rmdir FD PATH | unlink FD PATH | rename FD PATH FD2 PATH2
 *   open FD PATH FLAGS (letters: r read, w write, a append, c create,
 *                       x exclusive, t truncate, d directory)  -> "fd=N"
 *   read FD LEN | write FD TEXT | pread FD OFFSET LEN | pwrite FD OFFSET TEXT
 *   seek FD OFFSET | tell FD | size FD BYTES | sync FD | datasync FD | close FD
 *   stat FD PATH | lstat FD PATH (symlinks not followed) -> "type=T size=S"
 *   iovecs FD COUNT: fd_write of COUNT empty iovecs (a count past memory: EFAULT)
 *   touch FD PATH SECONDS [FSTFLAGS] | ftouch FD SECONDS [FSTFLAGS]: atime and
 *     mtime (FSTFLAGS default 5: ATIM | MTIM)
 *   readdir FD COOKIE BUFLEN [ADDRESS] -> "used=U NAME@NEXT ..." for each whole
 *     dirent, then "+" when the buffer ends inside one; ADDRESS places the
 *     buffer anywhere (a wild pointer) instead of in a static array.
 * On success without a value the output is "ok"; on a WASI error "errno=N". */

static char op_buffer[65536];

static int32_t op_result(__wasi_errno_t error, const char* text) {
  char errno_text[32];
  if (error != 0) {
    snprintf(errno_text, sizeof errno_text, "errno=%u", (unsigned)error);
    text = errno_text;
  }
  wpx_output_str(text);
  return 0;
}

static __wasi_rights_t rights_of(const char* flags) {
  __wasi_rights_t rights = __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |
                           __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR;
  if (strchr(flags, 'r') != NULL) rights |= __WASI_RIGHTS_FD_READ;
  if (strchr(flags, 'w') != NULL) {
    rights |= __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |
              __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_SYNC;
  }
  return rights;
}

static __wasi_oflags_t oflags_of(const char* flags) {
  __wasi_oflags_t oflags = 0;
  if (strchr(flags, 'c') != NULL) oflags |= __WASI_OFLAGS_CREAT;
  if (strchr(flags, 'x') != NULL) oflags |= __WASI_OFLAGS_EXCL;
  if (strchr(flags, 't') != NULL) oflags |= __WASI_OFLAGS_TRUNC;
  if (strchr(flags, 'd') != NULL) oflags |= __WASI_OFLAGS_DIRECTORY;
  return oflags;
}

static int32_t op_readdir(__wasi_fd_t fd, uint64_t cookie, uint32_t buffer_length,
                          const char* address) {
  uint8_t* buffer = (uint8_t*)op_buffer;
  if (address != NULL) {
    buffer = (uint8_t*)(uintptr_t)strtoul(address, NULL, 0);
  } else if (buffer_length > sizeof op_buffer) {
    return wpx_fail("readdir: BUFLEN > 65536");
  }
  __wasi_size_t used = 0;
  __wasi_errno_t error = __wasi_fd_readdir(fd, buffer, buffer_length, cookie, &used);
  if (error != 0 || address != NULL) {
    if (error == 0) snprintf(op_buffer, sizeof op_buffer, "used=%u", (unsigned)used);
    return op_result(error, op_buffer);
  }
  static char text[65536];
  size_t at = (size_t)snprintf(text, sizeof text, "used=%u", (unsigned)used);
  size_t offset = 0;
  while (offset + sizeof(__wasi_dirent_t) <= used) {
    __wasi_dirent_t dirent;
    memcpy(&dirent, buffer + offset, sizeof dirent);
    if (offset + sizeof dirent + dirent.d_namlen > used) break;
    at += (size_t)snprintf(text + at, sizeof text - at, " %.*s@%llu", (int)dirent.d_namlen,
                           (const char*)buffer + offset + sizeof dirent,
                           (unsigned long long)dirent.d_next);
    offset += sizeof dirent + dirent.d_namlen;
  }
  if (offset < used) at += (size_t)snprintf(text + at, sizeof text - at, " +");
  return op_result(0, text);
}

WPX_EXPORT("op") int32_t op(void) {
  uint64_t length;
  char* input = wpx_input(&length);
  if (input == NULL) return wpx_fail("out of memory");
  char* words[6] = {0};
  int count = 0;
  for (char* word = strtok(input, " "); word != NULL && count < 6; word = strtok(NULL, " ")) {
    words[count++] = word;
  }
  const char* name = count > 0 ? words[0] : "";
  __wasi_fd_t fd = count > 1 ? (__wasi_fd_t)strtoul(words[1], NULL, 10) : 0;
  const char* a = count > 2 ? words[2] : "";
  const char* b = count > 3 ? words[3] : "";
  char text[128] = "ok";
  __wasi_errno_t error = 0;
  int32_t rc;
  if (strcmp(name, "mkdir") == 0) {
    error = __wasi_path_create_directory(fd, a);
  } else if (strcmp(name, "rmdir") == 0) {
    error = __wasi_path_remove_directory(fd, a);
  } else if (strcmp(name, "unlink") == 0) {
    error = __wasi_path_unlink_file(fd, a);
  } else if (strcmp(name, "rename") == 0) {
    error = __wasi_path_rename(fd, a, (__wasi_fd_t)strtoul(b, NULL, 10), count > 4 ? words[4] : "");
  } else if (strcmp(name, "open") == 0) {
    __wasi_fd_t opened = 0;
    __wasi_fdflags_t fdflags = strchr(b, 'a') != NULL ? __WASI_FDFLAGS_APPEND : 0;
    error = __wasi_path_open(fd, 0, a, oflags_of(b), rights_of(b), 0, fdflags, &opened);
    snprintf(text, sizeof text, "fd=%u", (unsigned)opened);
  } else if (strcmp(name, "read") == 0 || strcmp(name, "pread") == 0) {
    const int positioned = name[0] == 'p';
    __wasi_iovec_t iov = {(uint8_t*)op_buffer, (size_t)strtoul(positioned ? b : a, NULL, 10)};
    if (iov.buf_len > 100) iov.buf_len = 100;
    __wasi_size_t n = 0;
    error = positioned ? __wasi_fd_pread(fd, &iov, 1, strtoull(a, NULL, 10), &n)
                       : __wasi_fd_read(fd, &iov, 1, &n);
    snprintf(text, sizeof text, "data=%.*s", (int)n, op_buffer);
  } else if (strcmp(name, "write") == 0 || strcmp(name, "pwrite") == 0) {
    const int positioned = name[0] == 'p';
    const char* data = positioned ? b : a;
    __wasi_ciovec_t iov = {(const uint8_t*)data, strlen(data)};
    __wasi_size_t n = 0;
    error = positioned ? __wasi_fd_pwrite(fd, &iov, 1, strtoull(a, NULL, 10), &n)
                       : __wasi_fd_write(fd, &iov, 1, &n);
    snprintf(text, sizeof text, "n=%u", (unsigned)n);
  } else if (strcmp(name, "seek") == 0 || strcmp(name, "tell") == 0) {
    __wasi_filesize_t at = 0;
    error = name[0] == 's' ? __wasi_fd_seek(fd, strtoll(a, NULL, 10), __WASI_WHENCE_SET, &at)
                           : __wasi_fd_tell(fd, &at);
    snprintf(text, sizeof text, "at=%llu", (unsigned long long)at);
  } else if (strcmp(name, "size") == 0) {
    error = __wasi_fd_filestat_set_size(fd, strtoull(a, NULL, 10));
  } else if (strcmp(name, "sync") == 0) {
    error = __wasi_fd_sync(fd);
  } else if (strcmp(name, "datasync") == 0) {
    error = __wasi_fd_datasync(fd);
  } else if (strcmp(name, "close") == 0) {
    error = __wasi_fd_close(fd);
  } else if (strcmp(name, "stat") == 0 || strcmp(name, "lstat") == 0) {
    __wasi_filestat_t stat;
    error = __wasi_path_filestat_get(fd, name[0] == 's' ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, a,
                                     &stat);
    snprintf(text, sizeof text, "type=%u size=%llu", (unsigned)stat.filetype,
             (unsigned long long)stat.size);
  } else if (strcmp(name, "iovecs") == 0) {
    /* fd_write of COUNT iovecs from a zeroed array: all empty, or past memory. */
    static __wasi_ciovec_t empty[8192];
    __wasi_size_t n = 0;
    error = __wasi_fd_write(fd, empty, (size_t)strtoul(a, NULL, 10), &n);
    snprintf(text, sizeof text, "n=%u", (unsigned)n);
  } else if (strcmp(name, "touch") == 0) {
    const uint64_t ns = strtoull(b, NULL, 10) * 1000000000ull;
    const char* flags = count > 4 ? words[4] : "5";
    error = __wasi_path_filestat_set_times(fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, a, ns, ns,
                                           (__wasi_fstflags_t)strtoul(flags, NULL, 10));
  } else if (strcmp(name, "ftouch") == 0) {
    const uint64_t ns = strtoull(a, NULL, 10) * 1000000000ull;
    error = __wasi_fd_filestat_set_times(fd, ns, ns,
                                         (__wasi_fstflags_t)strtoul(*b ? b : "5", NULL, 10));
  } else if (strcmp(name, "readdir") == 0) {
    rc = op_readdir(fd, strtoull(a, NULL, 10), (uint32_t)strtoul(b, NULL, 10),
                    count > 4 ? words[4] : NULL);
    free(input);
    return rc;
  } else {
    free(input);
    return wpx_fail("op: unknown operation");
  }
  rc = op_result(error, text);
  free(input);
  return rc;
}
