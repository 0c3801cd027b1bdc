/* markdown — renders Markdown to HTML: the bundled "realistic" plugin, a
 * string-heavy workload with real allocation, used by the benchmarks and the
 * golden tests (plugins/testdata/markdown).
 *
 *   render: (i32 ptr, i32 len) -> i64    Markdown in, HTML out (bytes ABI)
 *
 * Supported, close to CommonMark where it matters:
 *   blocks   ATX headings (# .. ######, optional closing #s), paragraphs,
 *            fenced code blocks (``` or ~~~, optional language), unordered
 *            (- * +) and ordered (1. or 1)) lists, thematic breaks (--- *** ___)
 *   inline   *em* _em_ **strong** __strong__, `code` spans, [text](url) links,
 *            backslash escapes
 * Deliberately simpler than CommonMark: lists are flat and tight (a blank line
 * between items keeps one list; any other line after a blank line ends it),
 * no indented code blocks, setext headings, block quotes, images, raw HTML or
 * entity references. All input text is HTML-escaped (& < > "), so the output
 * never carries markup the author did not write as Markdown, and links to
 * javascript:, vbscript: or data: URLs are rendered as plain text.
 *
 * Every search for a closing delimiter remembers where it failed, so render
 * time stays linear in the input (the host's fuel limit is for hostile
 * plugins, not for hostile documents).
 */
#include "warmpool_plugin.h"

enum {
  kNone = -1,
  kMaxNesting = 32,     /* emphasis/link depth; deeper delimiters are text */
  kMaxBacktickRun = 64, /* longer backtick runs are text */
};

/* ---------------------------------------------------------------- text --- */

static int is_blank_char(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

/* Appends text with & < > " escaped and NUL replaced by U+FFFD. */
static void put_escaped(wp_buf* out, const char* s, uint32_t n) {
  uint32_t plain = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const char* entity = NULL;
    switch (s[i]) {
      case '&': entity = "&amp;"; break;
      case '<': entity = "&lt;"; break;
      case '>': entity = "&gt;"; break;
      case '"': entity = "&quot;"; break;
      case '\0': entity = "\xEF\xBF\xBD"; break;
      default: continue;
    }
    wp_buf_append(out, s + plain, i - plain);
    wp_buf_puts(out, entity);
    plain = i + 1;
  }
  wp_buf_append(out, s + plain, n - plain);
}

static void put_repeated(wp_buf* out, char c, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) wp_buf_putc(out, c);
}

static uint32_t run_length(const char* s, uint32_t i, uint32_t end) {
  uint32_t j = i;
  while (j < end && s[j] == s[i]) ++j;
  return j - i;
}

/* -------------------------------------------------------------- inline --- */

/* One stretch of inline text being rendered, with what earlier searches in it
 * found out. A search from `from` that fails finds nothing from any later
 * position either, and the first stop character after a position is the same
 * for every position before it: remembering both keeps rendering linear. */
typedef struct {
  const char* s;
  uint32_t end;
  int64_t no_code_from[kMaxBacktickRun + 1]; /* per run length */
  int64_t no_delim_from[2][2];               /* [star/underscore][em/strong] */
  int64_t bracket_from, bracket_at;          /* first '[' or ']' at/after from */
  int64_t url_from, url_stop;                /* an unterminated destination */
} span;

static void span_init(span* r, const char* s, uint32_t end) {
  r->s = s;
  r->end = end;
  for (int n = 0; n <= kMaxBacktickRun; ++n) r->no_code_from[n] = INT64_MAX;
  for (int c = 0; c < 2; ++c) r->no_delim_from[c][0] = r->no_delim_from[c][1] = INT64_MAX;
  r->bracket_from = r->bracket_at = r->url_from = r->url_stop = kNone;
}

/* Start of the run of exactly n backticks closing a code span, or kNone. */
static int64_t find_code_close(span* r, uint32_t from, uint32_t n) {
  if (r->no_code_from[n] <= from) return kNone;
  uint32_t i = from;
  while (i < r->end) {
    if (r->s[i] != '`') {
      ++i;
      continue;
    }
    uint32_t k = run_length(r->s, i, r->end);
    if (k == n) return i;
    i += k;
  }
  r->no_code_from[n] = from;
  return kNone;
}

/* Past a backslash escape or a whole code span at i, for delimiter searches
 * (delimiters inside code spans do not count). */
static uint32_t skip_escape_or_code(span* r, uint32_t i) {
  if (r->s[i] == '\\') return i + 1 < r->end && is_punct(r->s[i + 1]) ? i + 2 : i + 1;
  uint32_t n = run_length(r->s, i, r->end);
  if (n <= kMaxBacktickRun) {
    int64_t close = find_code_close(r, i + n, n);
    if (close != kNone) return (uint32_t)close + n;
  }
  return i + n;
}

/* Where the closing delimiter (1 char for em, 2 for strong) of c starts, or
 * kNone. A closer follows a non-blank character; an underscore closer is not
 * followed by a letter or digit. When a run of closers is longer than needed,
 * the closer is its end. */
static int64_t find_delim_close(span* r, uint32_t from, char c, int strong) {
  int64_t* no_close = &r->no_delim_from[c == '_'][strong];
  if (*no_close <= from) return kNone;
  uint32_t i = from;
  while (i < r->end) {
    char ch = r->s[i];
    if (ch == '\\' || ch == '`') {
      i = skip_escape_or_code(r, i);
      continue;
    }
    if (ch != c) {
      ++i;
      continue;
    }
    uint32_t k = run_length(r->s, i, r->end);
    int fits = strong ? k >= 2 : k != 2; /* a run of 2 inside em is strong */
    int after_text = i > from && !is_blank_char(r->s[i - 1]);
    int word_end = c != '_' || i + k >= r->end || !is_alnum(r->s[i + k]);
    if (fits && after_text && word_end) return i + k - (strong ? 2 : 1);
    i += k;
  }
  *no_close = from;
  return kNone;
}

/* The ']' ending link text that starts at from, or kNone when a '[' comes
 * first: link text holds no unescaped brackets, so in "[a [b](u)" the inner
 * bracket opens the link. */
static int64_t find_bracket_close(span* r, uint32_t from) {
  if (!(r->bracket_from != kNone && r->bracket_from <= from && from <= r->bracket_at)) {
    uint32_t i = from;
    while (i < r->end && r->s[i] != ']' && r->s[i] != '[') {
      i += r->s[i] == '\\' && i + 1 < r->end && is_punct(r->s[i + 1]) ? 2 : 1;
    }
    r->bracket_from = from;
    r->bracket_at = i;
  }
  return r->bracket_at < r->end && r->s[r->bracket_at] == ']' ? r->bracket_at : kNone;
}

/* The ')' ending a link destination that starts at from, or kNone. A
 * destination is one word (no blanks or angle brackets) in which parentheses
 * must balance, as in https://en.wikipedia.org/wiki/C_(programming_language).
 * A destination that starts inside one already found unterminated is not
 * looked at again. */
static int64_t find_url_close(span* r, uint32_t from) {
  if (r->url_from != kNone && r->url_from <= from && from < r->url_stop) return kNone;
  uint32_t i = from, open = 0;
  for (; i < r->end; ++i) {
    char c = r->s[i];
    if (c == '<' || c == '>' || is_blank_char(c)) break;
    if (c == '(') ++open;
    if (c == ')' && open-- == 0) return i;
  }
  r->url_from = from;
  r->url_stop = i;
  return kNone;
}

static int starts_with_nocase(const char* s, uint32_t n, const char* prefix) {
  uint32_t i = 0;
  for (; prefix[i] != '\0'; ++i) {
    if (i >= n) return 0;
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != prefix[i]) return 0;
  }
  return 1;
}

static int is_unsafe_url(const char* url, uint32_t n) {
  return starts_with_nocase(url, n, "javascript:") || starts_with_nocase(url, n, "vbscript:") ||
         starts_with_nocase(url, n, "data:");
}

static void render_inline(wp_buf* out, const char* s, uint32_t start, uint32_t end, int depth);

/* Emits the code span whose content is s[from, to): line ends become spaces,
 * and one space is stripped from each side when both sides have one. */
static void put_code_span(wp_buf* out, const char* s, uint32_t from, uint32_t to) {
  int all_spaces = 1;
  for (uint32_t i = from; i < to; ++i) all_spaces &= s[i] == ' ' || s[i] == '\n';
  if (to - from >= 2 && !all_spaces && (s[from] == ' ' || s[from] == '\n') &&
      (s[to - 1] == ' ' || s[to - 1] == '\n')) {
    ++from;
    --to;
  }
  wp_buf_puts(out, "<code>");
  for (uint32_t i = from; i < to; ++i) {
    if (s[i] == '\n') {
      wp_buf_putc(out, ' ');
    } else {
      put_escaped(out, s + i, 1);
    }
  }
  wp_buf_puts(out, "</code>");
}

static void put_wrapped(wp_buf* out, const char* tag, const char* s, uint32_t from, uint32_t to,
                        int depth) {
  wp_buf_putc(out, '<');
  wp_buf_puts(out, tag);
  wp_buf_putc(out, '>');
  render_inline(out, s, from, to, depth + 1);
  wp_buf_puts(out, "</");
  wp_buf_puts(out, tag);
  wp_buf_putc(out, '>');
}

/* Tries emphasis at the run of c starting at i; returns where rendering goes
 * on, or i when the run is plain text. A run of 3 or more tries em around the
 * rest first ("***a***" is <em><strong>a</strong></em>, as in CommonMark),
 * then strong, then em opened by the run's last character. */
static uint32_t try_emphasis(wp_buf* out, span* r, uint32_t i, int depth) {
  const char* s = r->s;
  char c = s[i];
  uint32_t n = run_length(s, i, r->end);
  int opens =
      i + n < r->end && !is_blank_char(s[i + n]) && (c != '_' || i == 0 || !is_alnum(s[i - 1]));
  if (!opens || depth >= kMaxNesting) return i;
  int64_t close;
  if (n >= 3 && (close = find_delim_close(r, i + 1, c, 0)) != kNone) {
    put_wrapped(out, "em", s, i + 1, (uint32_t)close, depth);
    return (uint32_t)close + 1;
  }
  if (n >= 2 && (close = find_delim_close(r, i + 2, c, 1)) != kNone) {
    put_wrapped(out, "strong", s, i + 2, (uint32_t)close, depth);
    return (uint32_t)close + 2;
  }
  if ((close = find_delim_close(r, i + n, c, 0)) != kNone) {
    put_repeated(out, c, n - 1);
    put_wrapped(out, "em", s, i + n, (uint32_t)close, depth);
    return (uint32_t)close + 1;
  }
  return i;
}

/* Tries a [text](url) link at i; returns where rendering goes on, or i. */
static uint32_t try_link(wp_buf* out, span* r, uint32_t i, int depth) {
  if (depth >= kMaxNesting) return i;
  int64_t text_end = find_bracket_close(r, i + 1);
  if (text_end == kNone || (uint32_t)text_end + 1 >= r->end || r->s[text_end + 1] != '(') return i;
  uint32_t url = (uint32_t)text_end + 2;
  int64_t url_end = find_url_close(r, url);
  if (url_end == kNone) return i;
  uint32_t url_len = (uint32_t)url_end - url;
  int safe = !is_unsafe_url(r->s + url, url_len);
  if (safe) {
    wp_buf_puts(out, "<a href=\"");
    put_escaped(out, r->s + url, url_len);
    wp_buf_puts(out, "\">");
  }
  render_inline(out, r->s, i + 1, (uint32_t)text_end, depth + 1);
  if (safe) wp_buf_puts(out, "</a>");
  return (uint32_t)url_end + 1;
}

static void render_inline(wp_buf* out, const char* s, uint32_t start, uint32_t end, int depth) {
  span r;
  span_init(&r, s, end);
  uint32_t i = start;
  while (i < end) {
    char c = s[i];
    uint32_t next = i;
    if (c == '\\' && i + 1 < end && is_punct(s[i + 1])) {
      put_escaped(out, s + i + 1, 1);
      next = i + 2;
    } else if (c == '`') {
      uint32_t n = run_length(s, i, end);
      int64_t close = n <= kMaxBacktickRun ? find_code_close(&r, i + n, n) : kNone;
      if (close != kNone) {
        put_code_span(out, s, i + n, (uint32_t)close);
        next = (uint32_t)close + n;
      } else {
        put_repeated(out, '`', n);
        next = i + n;
      }
    } else if (c == '*' || c == '_') {
      next = try_emphasis(out, &r, i, depth);
      if (next == i) {
        uint32_t n = run_length(s, i, end);
        put_repeated(out, c, n);
        next = i + n;
      }
    } else if (c == '[') {
      next = try_link(out, &r, i, depth);
    }
    if (next == i) {
      put_escaped(out, s + i, 1);
      next = i + 1;
    }
    i = next;
  }
}

/* -------------------------------------------------------------- blocks --- */

typedef struct {
  const char* s;
  uint32_t len; /* without the line end */
} line;

/* Splits off the next line (ending in \n, \r\n or the end of input). */
static int next_line(const char* doc, uint32_t size, uint32_t* pos, line* out) {
  if (*pos >= size) return 0;
  uint32_t start = *pos, end = start;
  while (end < size && doc[end] != '\n') ++end;
  *pos = end < size ? end + 1 : end;
  if (end > start && doc[end - 1] == '\r') --end;
  out->s = doc + start;
  out->len = end - start;
  return 1;
}

/* Leading blanks: *chars of them, and their width with tabs to multiples of 4. */
static uint32_t indent_width(line l, uint32_t* chars) {
  uint32_t width = 0, i = 0;
  for (; i < l.len && (l.s[i] == ' ' || l.s[i] == '\t'); ++i) {
    width = l.s[i] == '\t' ? (width / 4 + 1) * 4 : width + 1;
  }
  *chars = i;
  return width;
}

static line trimmed(line l) {
  while (l.len > 0 && is_blank_char(l.s[0])) {
    ++l.s;
    --l.len;
  }
  while (l.len > 0 && is_blank_char(l.s[l.len - 1])) --l.len;
  return l;
}

static int is_blank_line(line l) {
  return trimmed(l).len == 0;
}

/* The line without up to 3 columns of indentation, or len 0 with s NULL when
 * it is indented further (then it cannot start a block). */
static line block_start(line l) {
  uint32_t chars;
  line rest = {NULL, 0};
  if (indent_width(l, &chars) > 3) return rest;
  rest.s = l.s + chars;
  rest.len = l.len - chars;
  return rest;
}

static int heading_level(line l, line* content) {
  line b = block_start(l);
  uint32_t level = b.s ? run_length(b.s, 0, b.len) : 0;
  if (b.len == 0 || b.s[0] != '#' || level > 6) return 0;
  if (level < b.len && b.s[level] != ' ' && b.s[level] != '\t') return 0;
  line text = {b.s + level, b.len - level};
  text = trimmed(text);
  /* An optional closing run of #s, if blank-separated (or all there is). */
  uint32_t end = text.len;
  while (end > 0 && text.s[end - 1] == '#') --end;
  if (end == 0 || text.s[end - 1] == ' ' || text.s[end - 1] == '\t') {
    text.len = end;
    text = trimmed(text);
  }
  *content = text;
  return (int)level;
}

static int is_thematic_break(line l) {
  line b = block_start(l);
  if (b.len == 0 || (b.s[0] != '-' && b.s[0] != '*' && b.s[0] != '_')) return 0;
  uint32_t marks = 0;
  for (uint32_t i = 0; i < b.len; ++i) {
    if (b.s[i] == b.s[0]) {
      ++marks;
    } else if (b.s[i] != ' ' && b.s[i] != '\t') {
      return 0;
    }
  }
  return marks >= 3;
}

typedef struct {
  char kind; /* 'u' or 'o' */
  char mark; /* - * + for 'u'; . or ) for 'o' */
  uint32_t number;
  line content;
} list_item;

static int parse_list_item(line l, list_item* item) {
  line b = block_start(l);
  if (b.len == 0) return 0;
  uint32_t i = 0;
  if (b.s[0] == '-' || b.s[0] == '*' || b.s[0] == '+') {
    item->kind = 'u';
    item->mark = b.s[0];
    item->number = 0;
    i = 1;
  } else {
    uint32_t number = 0;
    while (i < b.len && i < 9 && b.s[i] >= '0' && b.s[i] <= '9') {
      number = number * 10 + (uint32_t)(b.s[i] - '0');
      ++i;
    }
    if (i == 0 || i >= b.len || (b.s[i] != '.' && b.s[i] != ')')) return 0;
    item->kind = 'o';
    item->mark = b.s[i];
    item->number = number;
    ++i;
  }
  if (i < b.len && b.s[i] != ' ' && b.s[i] != '\t') return 0;
  line content = {b.s + i, b.len - i};
  item->content = trimmed(content);
  return 1;
}

typedef struct {
  char mark; /* ` or ~ */
  uint32_t length;
  uint32_t indent; /* columns removed from each content line */
  line info;
} fence;

static int parse_fence_open(line l, fence* f) {
  uint32_t chars;
  uint32_t indent = indent_width(l, &chars);
  if (indent > 3 || chars >= l.len || (l.s[chars] != '`' && l.s[chars] != '~')) return 0;
  uint32_t n = run_length(l.s, chars, l.len);
  if (n < 3) return 0;
  line info = {l.s + chars + n, l.len - chars - n};
  info = trimmed(info);
  if (l.s[chars] == '`') {
    for (uint32_t i = 0; i < info.len; ++i) {
      if (info.s[i] == '`') return 0;
    }
  }
  f->mark = l.s[chars];
  f->length = n;
  f->indent = indent;
  f->info = info;
  return 1;
}

static int closes_fence(line l, const fence* f) {
  line b = block_start(l);
  if (b.len == 0 || b.s[0] != f->mark) return 0;
  uint32_t n = run_length(b.s, 0, b.len);
  line rest = {b.s + n, b.len - n};
  return n >= f->length && is_blank_line(rest);
}

/* The block-level state: an open paragraph and an open list. */
typedef struct {
  wp_buf* out;
  wp_buf para;    /* raw text of the open paragraph */
  wp_buf item;    /* raw text of the open list item */
  char list_kind; /* 0 when no list is open */
  char list_mark;
  int blank_in_list; /* a blank line since the last item line */
} doc_state;

static void put_inline_block(wp_buf* out, const char* open, wp_buf* text, const char* close) {
  wp_buf_puts(out, open);
  render_inline(out, text->data, 0, text->len, 0);
  wp_buf_puts(out, close);
  text->len = 0;
}

static void flush_paragraph(doc_state* d) {
  if (d->para.len > 0) put_inline_block(d->out, "<p>", &d->para, "</p>\n");
}

static void close_list(doc_state* d) {
  if (d->list_kind == 0) return;
  put_inline_block(d->out, "<li>", &d->item, "</li>\n");
  wp_buf_puts(d->out, d->list_kind == 'u' ? "</ul>\n" : "</ol>\n");
  d->list_kind = 0;
  d->blank_in_list = 0;
}

static void end_blocks(doc_state* d) {
  flush_paragraph(d);
  close_list(d);
}

static void append_text_line(wp_buf* text, line l) {
  if (text->len > 0) wp_buf_putc(text, '\n');
  l = trimmed(l);
  wp_buf_append(text, l.s, l.len);
}

static void start_list_item(doc_state* d, const list_item* item) {
  flush_paragraph(d);
  if (d->list_kind != 0 && (d->list_kind != item->kind || d->list_mark != item->mark)) {
    close_list(d);
  }
  if (d->list_kind == 0) {
    if (item->kind == 'u') {
      wp_buf_puts(d->out, "<ul>\n");
    } else if (item->number == 1) {
      wp_buf_puts(d->out, "<ol>\n");
    } else {
      char digits[16];
      int n = 0;
      uint32_t v = item->number;
      do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
      } while (v > 0);
      wp_buf_puts(d->out, "<ol start=\"");
      while (n > 0) wp_buf_putc(d->out, digits[--n]);
      wp_buf_puts(d->out, "\">\n");
    }
    d->list_kind = item->kind;
    d->list_mark = item->mark;
  } else {
    put_inline_block(d->out, "<li>", &d->item, "</li>\n");
  }
  d->item.len = 0;
  wp_buf_append(&d->item, item->content.s, item->content.len);
  d->blank_in_list = 0;
}

/* Emits a fenced code block whose opening line was just read; returns with
 * *pos after its closing line (or at the end of input). */
static void render_fence(doc_state* d, const fence* f, const char* doc, uint32_t size,
                         uint32_t* pos) {
  wp_buf* out = d->out;
  wp_buf_puts(out, "<pre><code");
  if (f->info.len > 0) {
    uint32_t word = 0;
    while (word < f->info.len && !is_blank_char(f->info.s[word])) ++word;
    wp_buf_puts(out, " class=\"language-");
    put_escaped(out, f->info.s, word);
    wp_buf_putc(out, '"');
  }
  wp_buf_putc(out, '>');
  line l;
  while (next_line(doc, size, pos, &l)) {
    if (closes_fence(l, f)) break;
    uint32_t skip = 0, width = 0;
    while (skip < l.len && l.s[skip] == ' ' && width < f->indent) {
      ++skip;
      ++width;
    }
    put_escaped(out, l.s + skip, l.len - skip);
    wp_buf_putc(out, '\n');
  }
  wp_buf_puts(out, "</code></pre>\n");
}

static void render_document(wp_buf* out, const char* doc, uint32_t size) {
  doc_state d = {out, wp_buf_new(), wp_buf_new(), 0, 0, 0};
  uint32_t pos = 0;
  line l;
  while (next_line(doc, size, &pos, &l)) {
    if (is_blank_line(l)) {
      flush_paragraph(&d);
      if (d.list_kind != 0) d.blank_in_list = 1;
      continue;
    }
    list_item item;
    int is_item = parse_list_item(l, &item) && !is_thematic_break(l);
    if (d.blank_in_list && !(is_item && item.kind == d.list_kind && item.mark == d.list_mark)) {
      close_list(&d);
    }
    fence f;
    line content;
    int level;
    if (parse_fence_open(l, &f)) {
      end_blocks(&d);
      render_fence(&d, &f, doc, size, &pos);
    } else if ((level = heading_level(l, &content)) > 0) {
      end_blocks(&d);
      char open[5] = {'<', 'h', (char)('0' + level), '>', '\0'};
      char close[7] = {'<', '/', 'h', (char)('0' + level), '>', '\n', '\0'};
      wp_buf_puts(out, open);
      render_inline(out, content.s, 0, content.len, 0);
      wp_buf_puts(out, close);
    } else if (is_thematic_break(l)) {
      end_blocks(&d);
      wp_buf_puts(out, "<hr />\n");
    } else if (is_item && (d.para.len == 0 || item.kind == 'u' || item.number == 1)) {
      /* Only a list that starts at 1 can interrupt a paragraph, so a line
       * like "1984. A year." inside a paragraph stays text. */
      start_list_item(&d, &item);
    } else if (d.list_kind != 0) {
      append_text_line(&d.item, l); /* a lazy continuation of the item */
    } else {
      append_text_line(&d.para, l);
    }
  }
  end_blocks(&d);
  free(d.para.data);
  free(d.item.data);
}

WP_EXPORT("render") wp_result render(uint8_t* input, uint32_t len) {
  wp_buf html = wp_buf_new();
  render_document(&html, (const char*)input, len);
  return wp_buf_finish(&html);
}
