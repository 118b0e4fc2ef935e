/* host.h — shared between the two halves of the `volt` executable.
 *
 *   main.c  startup, arguments, the Lua library path, running chunks, error reports, Ctrl-C.
 *   repl.c  line reading (libedit or stdio), history and completion for lua/volt/repl.lua.
 *
 * Ctrl-C: while Lua code runs, SIGINT sets a debug hook that raises "interrupted" in that code
 * (as lua.c does). JIT-compiled loops reach the hook only while host_jit_interrupts is on (the
 * REPL's default); long C calls reach it when they return. A second Ctrl-C before the hook runs
 * kills the process. While the REPL waits for a line (host_reading), SIGINT only sets
 * host_interrupted and the pending line is dropped.
 *
 * Deferred interrupts (host_defer_interrupts(1), used by the Trainer during fit): SIGINT only
 * sets a flag that host_interrupt_pending() reads and clears, so the program can stop at a safe
 * point (after a training step). A second Ctrl-C while one is pending interrupts as above.
 * Deferral ends with the top-level call (host_docall) that turned it on.
 */
#pragma once
#include <signal.h>
#include <lua.h>

/* Set by repl.c around a blocking line read. */
extern volatile sig_atomic_t host_reading;
/* Set by the SIGINT handler when it arrived during a line read; repl.c clears it. */
extern volatile sig_atomic_t host_interrupted;

/* "volt 0.1.0 (LuaJIT 2.1.0-beta3)" */
extern const char host_version[];

/* Calls the function below the narg arguments on top of the stack with a message handler that
 * turns any error value into "<message>\n<traceback>", with Ctrl-C armed. Returns the lua_pcall
 * status; on error the message string is left on top of the stack. */
int host_docall(lua_State* L, int narg, int nres);

/* When status != 0, prints "volt: <message on top>" to stderr (nothing for nil) and pops it.
 * Returns status. */
int host_report(lua_State* L, int status);

/* Makes JIT-compiled loops interruptible too (on) or not (off), by running LuaJIT's profiler in
 * line mode with a 100 ms CPU-time timer. Costs pure-Lua loops up to ~1.5x; C calls are unaffected.
 * The REPL turns it on; jit.profile replaces it while in use. */
void host_jit_interrupts(lua_State* L, int on);

/* Deferred Ctrl-C (see the top of this file). */
void host_defer_interrupts(int on);
/* 1 when a deferred Ctrl-C arrived since the last call; clears it. */
int host_interrupt_pending(void);
/* Adds defer_interrupts and interrupt_pending to the table on top of the stack. */
void host_push_interrupt_functions(lua_State* L);

/* Runs the REPL (lua/volt/repl.lua) on L's globals until end of input.
 * Returns 0, or 1 when the REPL could not start or failed. */
int host_repl(lua_State* L);
