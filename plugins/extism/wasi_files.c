/* wasi_files.c — an Extism plugin that reads and writes files through
 * wasi-libc, beneath the directories a manifest's allowed_paths maps (WASI
 * preopens), and prints to stdout and stderr. Errors are the call's error:
 * "PATH: strerror". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#include "warmpool_extism.h"

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
  char* newline = strchr(input, '\n');
  if (newline == NULL) {
    free(input);
    return wpx_fail("write: the input is PATH, a newline, then the contents");
  }
  *newline = '\0';
  const char* contents = newline + 1;
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
