/* main.c — the `volt` executable: LuaJIT with Volt's Lua library on package.path.
 *
 *   volt [options] [script [args]]
 *     -e stat        run the string stat (repeatable; in order, before the script)
 *     -l name        require library name into the global name
 *     -i             open the REPL after the script, keeping its globals
 *     -v, --version  print the version and build information
 *     -h, --help     print usage
 *     --             stop handling options
 *     -              run stdin as the script
 *   No script and no -e/-l/-v: the REPL when stdin is a terminal, else stdin runs as a script.
 *
 * The script sees the `arg` table of lua.c (arg[0] the script, arg[1..] its arguments, negative
 * indices the interpreter and its options) and its arguments as `...`.
 *
 * Lua library path, prepended to package.path (LUA_PATH/LUA_CPATH and the defaults stay after):
 *   1. $VOLT_LUA_PATH (a directory), when set;
 *   2. <directory of /proc/self/exe>/VOLT_INSTALL_LUA_REL when it holds volt/init.lua (installed);
 *      else VOLT_BUILD_LUA_DIR (the generated volt/cdefs.lua) then VOLT_SOURCE_LUA_DIR.
 * Each directory adds "<dir>/?.lua;<dir>/?/init.lua". Startup never loads the volt library
 * (`volt -e ''` takes a few ms); `require 'volt'` does, and the REPL preloads it.
 *
 * Errors: "volt: <message>" plus a traceback on stderr and exit status 1 (error() with no value:
 * status 1 and no message, as lua.c); with -i the REPL still opens (and the final status stays 1).
 * Bad usage: usage on stderr and exit status 2.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include "host/host.h"
#include "volt/runtime.h"

#ifdef VOLT_HOST_STANDALONE
/* Built without libvolt (testing the host alone): vt_build_info may be absent. */
const char* vt_build_info(void) __attribute__((weak));
#endif

const char host_version[] = "volt " VOLT_VERSION_STRING " (" LUAJIT_VERSION ")";

static const char usage_text[] =
  "usage: volt [options] [script [args]]\n"
  "  -e stat        run the string stat (repeatable, in order, before the script)\n"
  "  -l name        require library name into the global name\n"
  "  -i             open the REPL after the script, keeping its globals\n"
  "  -v, --version  print the version and build information\n"
  "  -h, --help     print this help\n"
  "  --             stop handling options\n"
  "  -              run stdin as the script\n"
  "With no script: the REPL when stdin is a terminal, else stdin runs as a script.\n"
  "Environment: VOLT_LUA_PATH  a directory searched first for Lua modules (volt/init.lua ...)\n";

// ---------------------------------------------------------------------------------------------
// Ctrl-C
// ---------------------------------------------------------------------------------------------

volatile sig_atomic_t host_reading = 0;
volatile sig_atomic_t host_interrupted = 0;

static lua_State* g_L = NULL;              /* the state the SIGINT hook interrupts */
static int g_sigint_ignored = 0;           /* SIGINT was ignored when we started (nohup, `cmd &`) */
static volatile sig_atomic_t g_pending = 0; /* the stop hook is set and has not run yet */
static volatile sig_atomic_t g_defer = 0;   /* host_defer_interrupts(1): Ctrl-C only sets a flag */
static volatile sig_atomic_t g_deferred = 0; /* a deferred Ctrl-C arrived, not yet read */

static void sigint_handler(int sig);

static void sigint_set(void (*handler)(int)) {
  if (g_sigint_ignored) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  /* no SA_RESTART: a blocked read returns EINTR, so the REPL sees Ctrl-C */
  sigaction(SIGINT, &sa, NULL);
}

/* Debug hook set by the handler: runs in the interrupted Lua code. */
static void stop_hook(lua_State* L, lua_Debug* ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  g_pending = 0;
  luaL_error(L, "interrupted");
}

static void sigint_handler(int sig) {
  if (host_reading) {
    host_interrupted = 1;
    return;
  }
  if (g_defer && !g_deferred) {  /* deferred: the program polls host_interrupt_pending() */
    g_deferred = 1;
    return;
  }
  /* Not deferred, or a second Ctrl-C while one is deferred: interrupt now. */
  if (!g_pending) {
    g_pending = 1;
    lua_sethook(g_L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    return;
  }
  /* A second Ctrl-C and the hook has not run: a JIT-compiled loop or a long C call. */
  static const char msg[] = "\nvolt: killed by a second Ctrl-C (the running code never "
                            "reached an interrupt check: a JIT-compiled loop or a long C call)\n";
  ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)w;
  signal(sig, SIG_DFL);
  raise(sig);
}

/* LuaJIT profiler callback. The profiler (line mode) puts checks into compiled code, so its timer
 * brings even a JIT-compiled loop back to the interpreter, where this sets the stop hook. */
static void profile_cb(void* data, lua_State* L, int samples, int vmstate) {
  (void)data;
  (void)samples;
  (void)vmstate;
  if (g_pending) lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
}

void host_jit_interrupts(lua_State* L, int on) {
  if (on) luaJIT_profile_start(L, "li100", profile_cb, NULL);
  else luaJIT_profile_stop(L);
}

void host_defer_interrupts(int on) {
  g_defer = on ? 1 : 0;
  if (!on) g_deferred = 0;
}

int host_interrupt_pending(void) {
  int r = g_deferred != 0;
  g_deferred = 0;
  return r;
}

/* host.defer_interrupts(on) */
static int l_defer_interrupts(lua_State* L) {
  host_defer_interrupts(lua_toboolean(L, 1));
  return 0;
}

/* host.interrupt_pending() -> boolean (reads and clears) */
static int l_interrupt_pending(lua_State* L) {
  lua_pushboolean(L, host_interrupt_pending());
  return 1;
}

/* host.jit_interrupts(on) */
static int l_jit_interrupts_main(lua_State* L) {
  host_jit_interrupts(L, lua_toboolean(L, 1));
  return 0;
}

void host_push_interrupt_functions(lua_State* L) {
  lua_pushcfunction(L, l_defer_interrupts);
  lua_setfield(L, -2, "defer_interrupts");
  lua_pushcfunction(L, l_interrupt_pending);
  lua_setfield(L, -2, "interrupt_pending");
}

/* package.loaded['volt.host'] = {defer_interrupts, interrupt_pending, jit_interrupts, version}:
 * what library code (the Trainer) may use of the host; absent under plain LuaJIT. */
static void register_host_module(lua_State* L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_createtable(L, 0, 4);
  host_push_interrupt_functions(L);
  lua_pushcfunction(L, l_jit_interrupts_main);
  lua_setfield(L, -2, "jit_interrupts");
  lua_pushstring(L, host_version);
  lua_setfield(L, -2, "version");
  lua_setfield(L, -2, "volt.host");
  lua_pop(L, 2);
}

// ---------------------------------------------------------------------------------------------
// Running chunks and reporting errors
// ---------------------------------------------------------------------------------------------

/* Message handler: any error value to "<message>\n<traceback>", except nil, which stays nil:
 * error() exits with status 1 and no message, as in lua.c (busted relies on it). */
static int msghandler(lua_State* L) {
  if (lua_isnoneornil(L, 1)) return 1;
  const char* msg = lua_tostring(L, 1);  /* strings and numbers */
  if (msg == NULL) {
    /* Error objects with __tostring (tables, cdata), called protected. */
    if (luaL_getmetafield(L, 1, "__tostring")) {
      lua_pushvalue(L, 1);
      if (lua_pcall(L, 1, 1, 0) == 0 && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    }
    if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  /* Drop the last frame when it is the host's own C function ("[C]: at 0x..."). */
  size_t len;
  const char* tb = lua_tolstring(L, -1, &len);
  const char* last = strrchr(tb, '\n');
  if (last != NULL && strncmp(last, "\n\t[C]: at 0x", 12) == 0) lua_pushlstring(L, tb, (size_t)(last - tb));
  return 1;
}

int host_docall(lua_State* L, int narg, int nres) {
  int base = lua_gettop(L) - narg;  /* the function's index */
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  sigint_set(sigint_handler);
  int status = lua_pcall(L, narg, nres, base);
  sigint_set(SIG_DFL);
  if (g_pending) {  /* Ctrl-C came as the call returned: don't interrupt later code */
    lua_sethook(L, NULL, 0, 0);
    g_pending = 0;
  }
  g_defer = 0;  /* a call that turned deferral on and failed must not leave Ctrl-C swallowed */
  g_deferred = 0;
  lua_remove(L, base);
  return status;
}

int host_report(lua_State* L, int status) {
  if (status != 0 && lua_isnil(L, -1)) {
    lua_pop(L, 1);
  } else if (status != 0) {
    const char* msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    fflush(stdout);
    fprintf(stderr, "volt: %s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int run_string(lua_State* L, const char* code) {
  int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
  if (status == 0) status = host_docall(L, 0, 0);
  return host_report(L, status);
}

/* require(name) into the global name. */
static int run_library(lua_State* L, const char* name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = host_docall(L, 1, 1);
  if (status == 0) lua_setglobal(L, name);
  return host_report(L, status);
}

/* Loads fname (NULL: stdin) and calls it with argv[first..argc-1] as its arguments. */
static int run_script(lua_State* L, const char* fname, char** argv, int first, int argc) {
  int status = luaL_loadfile(L, fname);
  if (status == 0) {
    int n = argc > first ? argc - first : 0;
    luaL_checkstack(L, n + 3, "too many arguments to the script");
    for (int i = 0; i < n; i++) lua_pushstring(L, argv[first + i]);
    status = host_docall(L, n, 0);
  }
  return host_report(L, status);
}

// ---------------------------------------------------------------------------------------------
// Lua library path
// ---------------------------------------------------------------------------------------------

static int file_readable(const char* dir, const char* rel) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
  return n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

static void add_dir(luaL_Buffer* b, const char* dir) {
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?.lua;");
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?/init.lua;");
}

/* The installed Lua directory next to the executable, or "" when there is none. */
static void installed_dir(char out[PATH_MAX]) {
  out[0] = '\0';
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  char* slash = strrchr(exe, '/');
  if (slash == NULL) return;
  *slash = '\0';
  char joined[PATH_MAX];
  int m = snprintf(joined, sizeof joined, "%s/%s", exe, VOLT_INSTALL_LUA_REL);
  if (m <= 0 || (size_t)m >= sizeof joined) return;
  if (realpath(joined, out) == NULL || !file_readable(out, "volt/init.lua")) out[0] = '\0';
}

static void set_package_path(lua_State* L) {
  luaL_Buffer b;  /* uses the stack: nothing else is pushed while it is open */
  luaL_buffinit(L, &b);
  const char* env = getenv("VOLT_LUA_PATH");
  if (env != NULL && env[0] != '\0') add_dir(&b, env);
  char inst[PATH_MAX];
  installed_dir(inst);
  if (inst[0] != '\0') {
    add_dir(&b, inst);
  } else {
    add_dir(&b, VOLT_BUILD_LUA_DIR);
    add_dir(&b, VOLT_SOURCE_LUA_DIR);
  }
  luaL_pushresult(&b);                    /* prefix */
  lua_getglobal(L, "package");            /* prefix package */
  if (!lua_istable(L, -1)) luaL_error(L, "the package library is missing");
  lua_getfield(L, -1, "path");            /* prefix package path */
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "");
  }
  lua_pushvalue(L, -3);
  lua_insert(L, -2);                      /* prefix package prefix path */
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 2);
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

typedef struct {
  int argc;
  char** argv;
  int script;       /* index of the script (or "-") in argv; 0 when there is none */
  int interactive;  /* -i */
  int version;      /* -v */
  int help;         /* -h */
  int has_e;        /* -e or -l given */
  int status;       /* [out] exit status */
} host_args;

static void print_usage(FILE* f) { fputs(usage_text, f); }

/* Finds the script and the flags. Returns 0, or 2 (bad usage, reported). */
static int collect_args(host_args* a) {
  for (int i = 1; i < a->argc; i++) {
    const char* s = a->argv[i];
    if (s[0] != '-' || s[1] == '\0') {  /* the script, or "-" for stdin */
      a->script = i;
      return 0;
    }
    if (strcmp(s, "--") == 0) {
      if (i + 1 < a->argc) a->script = i + 1;
      return 0;
    }
    if (strcmp(s, "-v") == 0 || strcmp(s, "--version") == 0) {
      a->version = 1;
    } else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
      a->help = 1;
      return 0;
    } else if (strcmp(s, "-i") == 0) {
      a->interactive = 1;
    } else if (s[1] == 'e' || s[1] == 'l') {
      a->has_e = 1;
      if (s[2] == '\0' && ++i >= a->argc) {
        fprintf(stderr, "volt: '%s' needs an argument\n", s);
        print_usage(stderr);
        return 2;
      }
    } else {
      fprintf(stderr, "volt: unknown option '%s'\n", s);
      print_usage(stderr);
      return 2;
    }
  }
  return 0;
}

/* arg[0] is the script (argv[0] when there is none), arg[1..] what follows it, arg[-k] what
 * precedes it. */
static void create_arg_table(lua_State* L, const host_args* a) {
  int s = a->script;
  lua_createtable(L, a->argc - s, s + 1);
  for (int i = 0; i < a->argc; i++) {
    lua_pushstring(L, a->argv[i]);
    lua_rawseti(L, -2, i - s);
  }
  lua_setglobal(L, "arg");
}

/* Runs -e and -l in order. Returns 0, or the failing status (reported). */
static int run_options(lua_State* L, const host_args* a) {
  int end = a->script ? a->script : a->argc;
  for (int i = 1; i < end; i++) {
    const char* s = a->argv[i];
    if (s[0] != '-' || (s[1] != 'e' && s[1] != 'l')) continue;
    const char* v = s[2] != '\0' ? s + 2 : a->argv[++i];
    int status = s[1] == 'e' ? run_string(L, v) : run_library(L, v);
    if (status != 0) return status;
  }
  return 0;
}

static void print_version(void) {
  puts(host_version);
#ifdef VOLT_HOST_STANDALONE
  if (vt_build_info != NULL) puts(vt_build_info());
#else
  puts(vt_build_info());
#endif
  fflush(stdout);
}

/* os.exit(code) closes the Lua state by default (LuaJIT's second argument), so finalizers run:
 * tensors are released, files flushed, and leak checkers see only real leaks. */
static void close_state_on_exit(lua_State* L) {
  static const char code[] =
      "local exit = os.exit\n"
      "os.exit = function(code, close)\n"
      "  if close == nil then close = true end\n"
      "  return exit(code, close)\n"
      "end\n";
  if (luaL_loadbuffer(L, code, sizeof code - 1, "=volt") == 0) lua_pcall(L, 0, 0, 0);
  else lua_pop(L, 1);
}

static int pmain(lua_State* L) {
  host_args* a = (host_args*)lua_touserdata(L, 1);
  lua_gc(L, LUA_GCSTOP, 0);
  luaL_openlibs(L);
  lua_gc(L, LUA_GCRESTART, 0);
  set_package_path(L);
  close_state_on_exit(L);
  register_host_module(L);
  create_arg_table(L, a);
  if (a->version) print_version();

  int failed = run_options(L, a) != 0;
  if (!failed && a->script) {
    const char* fname = a->argv[a->script];
    if (strcmp(fname, "-") == 0 && strcmp(a->argv[a->script - 1], "--") != 0) fname = NULL;
    failed = run_script(L, fname, a->argv, a->script + 1, a->argc) != 0;
  }
  if (a->interactive) {
    if (host_repl(L) != 0) failed = 1;
  } else if (a->script == 0 && !a->has_e && !a->version) {
    if (isatty(STDIN_FILENO)) failed = host_repl(L) != 0;
    else failed = run_script(L, NULL, a->argv, a->argc, a->argc) != 0;
  }
  a->status = failed ? 1 : 0;
  return 0;
}

/* OpenMP waiting. libgomp lets a thread that finished its share of a parallel region spin for
 * ~300000 rounds (milliseconds) before it sleeps. On an idle machine that keeps the pool hot,
 * but when other processes hold the cores every region waits for a descheduled thread while the
 * others spin, and a 2-thread run becomes many times slower than a 1-thread one (bench/README.md:
 * mlp 626 samples/s on 2 threads vs 8190 on 1 under a load of 3.5). Volt's default is a 30x
 * shorter spin, GOMP_SPINCOUNT=10000: as fast as libgomp's default on a quiet machine (within
 * noise), ~4000 samples/s under that load. Shorter spins (1000) degrade less under load but lose
 * ~30% on a quiet machine, so they are not the default. libgomp reads its environment once, in
 * its own constructor, which runs before main(); so the host sets the variable and executes
 * itself again, once. Nothing is changed when the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT, or
 * under valgrind. */
static void host_omp_wait_default(char** argv) {
  if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
  /* under valgrind the second process would run uninstrumented (no --trace-children) */
  const char* pre = getenv("LD_PRELOAD");
  if (pre && strstr(pre, "vgpreload")) return;
  if (setenv("GOMP_SPINCOUNT", "10000", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("GOMP_SPINCOUNT"); /* no /proc: run on with libgomp's defaults */
}

int main(int argc, char** argv) {
  if (argc >= 1 && argv[0] != NULL) host_omp_wait_default(argv);
  host_args a = {.argc = argc, .argv = argv};
  if (argc < 1 || argv[0] == NULL) {  /* execve with an empty argv */
    static char name[] = "volt";
    static char* fake[] = {name, NULL};
    a.argc = 1;
    a.argv = fake;
  }
  int usage = collect_args(&a);
  if (usage != 0) return usage;
  if (a.help) {
    print_usage(stdout);
    return 0;
  }

  struct sigaction old;
  if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_IGN) g_sigint_ignored = 1;

  lua_State* L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "volt: cannot create the Lua state: not enough memory\n");
    return 1;
  }
  g_L = L;
  int status = lua_cpcall(L, pmain, &a);
  if (status != 0) {
    host_report(L, status);
    a.status = 1;
  }
  fflush(stdout);
  lua_close(L);
  return a.status;
}
