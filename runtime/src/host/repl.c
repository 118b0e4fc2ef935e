/* repl.c — line reading for the `volt` REPL; lua/volt/repl.lua does everything else.
 *
 * host_repl runs require('volt.repl').run(host), where host is a table:
 *   host.readline(prompt) -> line | nil (end of input) | false (Ctrl-C: drop the pending input)
 *   host.add_history(text)   remembers an entered chunk (~/.volt_history keeps the last HISTORY_MAX)
 *   host.set_completer(fn)   Tab completion: fn(word) -> {candidate, ...} (libedit only)
 *   host.jit_interrupts(on)  Ctrl-C also stops JIT-compiled loops (see host.h)
 *   host.defer_interrupts(on), host.interrupt_pending()  deferred Ctrl-C (see host.h)
 *   host.interactive         stdin is a terminal (prompts and the banner only then)
 *   host.version             "volt 0.1.0 (LuaJIT 2.1.0-beta3)"
 * On a terminal with libedit: line editing, history and completion through libedit's readline
 * API. Otherwise lines come from getline() on stdin, which also serves piped input.
 *
 * Ctrl-C at the prompt: the SIGINT handler (main.c) sets host_interrupted and the blocked read
 * returns EINTR; our libedit getc function then ends the line with '\n' and readline's result is
 * dropped. libedit's own signal handling is off (it re-sends signals to the process group).
 */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "host/host.h"

#ifdef VOLT_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

enum { HISTORY_MAX = 1000 };

static int g_tty = 0;   /* stdin is a terminal */
static int g_edit = 0;  /* reading through libedit */

// ---------------------------------------------------------------------------------------------
// libedit: getc, history, completion
// ---------------------------------------------------------------------------------------------
#ifdef VOLT_HAVE_LIBEDIT

static int g_utf8 = 0;                      /* the locale's codeset is UTF-8 */
static char g_history_path[PATH_MAX] = "";  /* "" when there is no $HOME */
static char* g_last_entry = NULL;           /* last history entry, to skip repeats */
static lua_State* g_comp_L = NULL;          /* the state running host.readline */
static int g_comp_ref = LUA_NOREF;          /* registry ref of the Lua completer */
static char** g_matches = NULL;             /* candidates of the current completion */
static int g_nmatches = 0, g_next_match = 0;
static char g_word_breaks[] = " \t\n\"\\'`@$><=;|&{(+-*/%^~#,[]";

/* One byte from fd: 0..255, -1 at end of input or on error, -2 after Ctrl-C. */
static int read_byte(int fd) {
  for (;;) {
    if (host_interrupted) return -2;
    unsigned char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 1) return c;
    if (n == 0 || errno != EINTR) return -1;
  }
}

/* libedit reads characters through this (rl_getc_function): one character, decoded from UTF-8
 * when the locale is UTF-8, since libedit stores what we return as one wide character. */
static int edit_getc(FILE* f) {
  int fd = fileno(f);
  int c = read_byte(fd);
  if (c == -2) return '\n';  /* Ctrl-C: end the line; l_readline drops it */
  if (c < 0x80 || !g_utf8) return c;
  int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (len == 1) return 0xFFFD;  /* a stray continuation byte */
  int cp = c & (0x3F >> (len - 1));
  for (int k = 1; k < len; k++) {
    int d = read_byte(fd);
    if (d == -2) return '\n';
    if (d < 0) return -1;
    if ((d & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (d & 0x3F);
  }
  return cp;
}

static void free_matches(void) {
  for (int i = 0; i < g_nmatches; i++) free(g_matches[i]);
  free(g_matches);
  g_matches = NULL;
  g_nmatches = g_next_match = 0;
}

static char* match_generator(const char* text, int state) {
  (void)text;
  if (state == 0) g_next_match = 0;
  return g_next_match < g_nmatches ? strdup(g_matches[g_next_match++]) : NULL;
}

/* rl_attempted_completion_function: asks the Lua completer for the word before the cursor. */
static char** complete(const char* text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;  /* never fall back to file names */
  free_matches();
  lua_State* L = g_comp_L;
  if (L == NULL || g_comp_ref == LUA_NOREF || !lua_checkstack(L, 4)) return NULL;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g_comp_ref);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1)) {
    int n = (int)lua_objlen(L, -1);
    g_matches = n > 0 ? calloc((size_t)n, sizeof *g_matches) : NULL;
    for (int i = 1; g_matches != NULL && i <= n; i++) {
      lua_rawgeti(L, -1, i);
      const char* s = lua_tostring(L, -1);
      if (s != NULL && (g_matches[g_nmatches] = strdup(s)) != NULL) g_nmatches++;
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  return g_nmatches > 0 ? rl_completion_matches(text, match_generator) : NULL;
}

static void edit_open(void) {
  static int initialized = 0;
  if (!initialized) {
    initialized = 1;
    setlocale(LC_CTYPE, "");  /* libedit decodes and encodes wide characters with it */
    g_utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    rl_readline_name = "volt";
    rl_catch_signals = 0;
    rl_getc_function = edit_getc;
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = g_word_breaks;
    rl_completer_word_break_characters = g_word_breaks;
    rl_completion_append_character = '\0';
    rl_initialize();
    stifle_history(HISTORY_MAX);
  }
  const char* home = getenv("HOME");
  if (home != NULL && home[0] != '\0') {
    int n = snprintf(g_history_path, sizeof g_history_path, "%s/.volt_history", home);
    if (n <= 0 || (size_t)n >= sizeof g_history_path) g_history_path[0] = '\0';
  }
  if (g_history_path[0] != '\0') read_history(g_history_path);  /* absent at first: fine */
}

static void edit_close(void) {
  free_matches();
  free(g_last_entry);
  g_last_entry = NULL;
  if (g_comp_L != NULL && g_comp_ref != LUA_NOREF) luaL_unref(g_comp_L, LUA_REGISTRYINDEX, g_comp_ref);
  g_comp_ref = LUA_NOREF;
  g_comp_L = NULL;
}

#endif /* VOLT_HAVE_LIBEDIT */

// ---------------------------------------------------------------------------------------------
// The host table
// ---------------------------------------------------------------------------------------------

/* host.readline(prompt) -> line | nil | false */
static int l_readline(lua_State* L) {
  const char* prompt = luaL_optstring(L, 1, "> ");
  fflush(stdout);
  host_interrupted = 0;
#ifdef VOLT_HAVE_LIBEDIT
  if (g_edit) {
    g_comp_L = L;
    host_reading = 1;
    char* line = readline(prompt);
    host_reading = 0;
    if (host_interrupted) {
      host_interrupted = 0;
      free(line);
      lua_pushboolean(L, 0);
    } else if (line == NULL) {
      lua_pushnil(L);
    } else {
      lua_pushstring(L, line);
      free(line);
    }
    return 1;
  }
#endif
  if (g_tty) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  char* buf = NULL;
  size_t cap = 0;
  host_reading = 1;
  errno = 0;
  ssize_t n = getline(&buf, &cap, stdin);
  int err = errno;
  host_reading = 0;
  if (host_interrupted || (n < 0 && err == EINTR)) {
    host_interrupted = 0;
    clearerr(stdin);
    free(buf);
    if (g_tty) fputc('\n', stdout);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (n < 0) {
    free(buf);
    lua_pushnil(L);
    return 1;
  }
  if (n > 0 && buf[n - 1] == '\n') n--;
  if (n > 0 && buf[n - 1] == '\r') n--;
  lua_pushlstring(L, buf, (size_t)n);
  free(buf);
  return 1;
}

/* host.add_history(text) */
static int l_add_history(lua_State* L) {
  const char* text = luaL_checkstring(L, 1);
#ifdef VOLT_HAVE_LIBEDIT
  if (g_edit && text[0] != '\0' && (g_last_entry == NULL || strcmp(g_last_entry, text) != 0)) {
    add_history(text);
    /* Rewritten whole (stifled, so small): libedit's append_history repeats earlier entries. */
    if (g_history_path[0] != '\0') write_history(g_history_path);
    free(g_last_entry);
    g_last_entry = strdup(text);
  }
#else
  (void)text;
#endif
  return 0;
}

/* host.set_completer(fn) */
static int l_set_completer(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
#ifdef VOLT_HAVE_LIBEDIT
  if (g_comp_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, g_comp_ref);
  lua_pushvalue(L, 1);
  g_comp_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  g_comp_L = L;
#endif
  return 0;
}

/* host.jit_interrupts(on) */
static int l_jit_interrupts(lua_State* L) {
  host_jit_interrupts(L, lua_toboolean(L, 1));
  return 0;
}

static void push_host_table(lua_State* L) {
  lua_createtable(L, 0, 8);
  lua_pushcfunction(L, l_readline);
  lua_setfield(L, -2, "readline");
  lua_pushcfunction(L, l_add_history);
  lua_setfield(L, -2, "add_history");
  if (g_edit) {
    lua_pushcfunction(L, l_set_completer);
    lua_setfield(L, -2, "set_completer");
  }
  lua_pushcfunction(L, l_jit_interrupts);
  lua_setfield(L, -2, "jit_interrupts");
  host_push_interrupt_functions(L);
  lua_pushboolean(L, g_tty);
  lua_setfield(L, -2, "interactive");
  lua_pushstring(L, host_version);
  lua_setfield(L, -2, "version");
}

int host_repl(lua_State* L) {
  static const char boot[] = "return require('volt.repl').run(...)";
  g_tty = isatty(STDIN_FILENO);
#ifdef VOLT_HAVE_LIBEDIT
  g_edit = g_tty;
  if (g_edit) edit_open();
#endif
  int status = luaL_loadbuffer(L, boot, sizeof boot - 1, "=(volt repl)");
  if (status == 0) {
    push_host_table(L);
    status = host_docall(L, 1, 0);
  }
#ifdef VOLT_HAVE_LIBEDIT
  if (g_edit) edit_close();
#endif
  fflush(stdout);
  return host_report(L, status) != 0;
}
