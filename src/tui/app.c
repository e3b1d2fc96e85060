/* app.c: the workbench's terminal side: curses set-up and teardown, the main loop and frame
 * drawing (app_state.c holds everything else, curses-free).
 *
 * Terminal safety (STYLE.md b8): the terminal is restored on every exit path: a normal quit,
 * an error, atexit, SIGINT / SIGTERM (a clean quit: the run is cancelled and joined; a second
 * signal restores and exits at once), SIGSEGV / SIGABRT / SIGBUS / SIGFPE (restore, then die
 * by the same signal) and PF_ASSERT (its abort hook). While curses owns the screen stderr goes
 * to an unlinked temporary file, printed after endwin; pf_log lines go to the run log.
 *
 * Frames: three windows (top bar, body, message + legend), redrawn only when the state changed
 * (app->dirty), each with wnoutrefresh and one doupdate per frame. Only this thread calls
 * curses. */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_log.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "tui/app.h"
#include "tui/theme.h"
#include "tui/tui.h"
#include "tui/widgets/statusbar.h"
#include "tui/widgets/text.h"

#define TICK_MS 100
#define MIN_H   6 /* below this only "terminal too small" is shown */
#define MIN_W   30

/* ---- terminal state (file-static: signal handlers need it) ---- */

static SCREEN *term_screen;
static volatile sig_atomic_t curses_up;
static volatile sig_atomic_t quit_signal;
static int saved_stderr = -1; /* the real stderr while curses is up */
static int capture_fd = -1;   /* the unlinked temporary file stderr goes to */

static void stderr_capture(void)
{
    char path[] = "/tmp/pocketflow-stderr-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return; /* no capture: better than no workbench */
    unlink(path);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    if (saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0) {
        close(fd);
        if (saved_stderr >= 0)
            close(saved_stderr);
        saved_stderr = -1;
        return;
    }
    capture_fd = fd;
}

/* Puts stderr back and prints what was written to it meanwhile. Async-signal-safe calls only
 * (a fatal signal handler calls it). */
static void stderr_release(void)
{
    if (saved_stderr < 0)
        return;
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    if (capture_fd >= 0) {
        char buf[4096];
        ssize_t n;
        lseek(capture_fd, 0, SEEK_SET);
        while ((n = read(capture_fd, buf, sizeof buf)) > 0)
            if (write(STDERR_FILENO, buf, (size_t)n) < 0)
                break;
        close(capture_fd);
        capture_fd = -1;
    }
}

static void terminal_restore(void)
{
    if (curses_up) {
        curses_up = 0;
        endwin();
    }
    stderr_release();
}

static void on_fatal(int sig)
{
    terminal_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_quit(int sig)
{
    if (quit_signal) {
        /* a second Ctrl-C: the clean path is stuck; restore and leave now */
        terminal_restore();
        _exit(128 + sig);
    }
    quit_signal = sig;
}

static void on_abort_hook(const char *msg)
{
    (void)msg;
    terminal_restore();
}

static void install_handlers(void)
{
    static bool once;
    if (!once) {
        atexit(terminal_restore);
        once = true;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_quit;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    pf_set_abort_hook(on_abort_hook);
}

static void remove_handlers(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    pf_set_abort_hook(NULL);
}

/* pf_log lines (from any thread) become log events of the monitor. */
static void log_sink(enum pf_log_level level, const char *msg, void *user)
{
    struct pf_app *app = user;
    static const char *const lv[] = {"debug", "info", "warning", "error"};
    struct pf_event e = {.run_id = 0, .kind = PF_EV_LOG};
    snprintf(e.text, sizeof e.text, "%s: %s", lv[level <= PF_LOG_ERROR ? level : PF_LOG_ERROR],
             msg);
    pf_evq_push(&app->evq, &e);
}

/* ---- windows and frames ---- */

struct frame {
    WINDOW *top, *body, *bottom; /* NULL when the terminal is too small */
};

static void frame_free(struct frame *f)
{
    if (f->top)
        delwin(f->top);
    if (f->body)
        delwin(f->body);
    if (f->bottom)
        delwin(f->bottom);
    f->top = f->body = f->bottom = NULL;
}

static void frame_layout(struct frame *f, struct pf_app *app)
{
    frame_free(f);
    if (LINES < MIN_H || COLS < MIN_W)
        return;
    f->top = newwin(1, COLS, 0, 0);
    f->body = newwin(LINES - 3, COLS, 1, 0);
    f->bottom = newwin(2, COLS, LINES - 2, 0);
    if (!f->top || !f->body || !f->bottom) {
        frame_free(f);
        return;
    }
    /* keys are read through the body window: getch() would refresh stdscr over the frame */
    keypad(f->body, TRUE);
    wtimeout(f->body, TICK_MS);
    app->body_h = LINES - 3;
    app->body_w = COLS;
}

static void frame_draw(struct frame *f, struct pf_app *app)
{
    if (!f->body) {
        erase();
        mvaddnstr(0, 0, "terminal too small", COLS);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    werase(f->top);
    pf_w_titlebar_draw(f->top, 0, app);
    werase(f->body);
    /* the stack bottom-up from the highest non-modal screen: modals draw over it */
    int base = app->depth - 1;
    while (base > 0 && app->stack[base].ops->modal)
        base--;
    for (int i = base; i < app->depth; i++)
        app->stack[i].ops->draw(&app->stack[i], f->body);
    werase(f->bottom);
    pf_w_message_draw(f->bottom, 0, app);
    const struct pf_screen *top = &app->stack[app->depth - 1];
    const struct pf_keymap *maps[2] = {top->ops->keys, &pf_app_keys};
    pf_w_legend_draw(f->bottom, 1, maps, top->ops->modal ? 1 : 2);
    wnoutrefresh(f->top);
    wnoutrefresh(f->body);
    wnoutrefresh(f->bottom);
    doupdate();
}

/* A mouse event becomes the key it stands for: a tab, a legend entry, a wheel step, or a
 * click in the body (PF_KEY_CLICK at app->click_y/x). */
static void on_mouse(struct pf_app *app)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return;
    if (ev.bstate & BUTTON4_PRESSED) {
        pf_app_key(app, KEY_UP);
        return;
    }
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED) {
        pf_app_key(app, KEY_DOWN);
        return;
    }
#endif
    if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED)))
        return;
    if (ev.bstate & BUTTON1_RELEASED && !(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
        return;
    const struct pf_screen *top = pf_app_top(app);
    if (ev.y == 0) {
        int k = top->ops->modal ? 0 : pf_w_titlebar_hit(app, COLS, ev.x);
        if (k)
            pf_app_key(app, k);
    } else if (ev.y == LINES - 1) {
        const struct pf_keymap *maps[2] = {top->ops->keys, &pf_app_keys};
        int k = pf_w_legend_hit(maps, top->ops->modal ? 1 : 2, COLS, ev.x);
        if (k)
            pf_app_key(app, k);
    } else if (ev.y >= 1 && ev.y < LINES - 2) {
        app->click_y = ev.y - 1;
        app->click_x = ev.x;
        pf_app_key(app, PF_KEY_CLICK);
    }
}

static int terminal_start(void)
{
    const char *nc = getenv("NO_COLOR");
    setlocale(LC_ALL, "");
    pf_theme_set_utf8(!strcmp(nl_langinfo(CODESET), "UTF-8"));
    install_handlers();
    stderr_capture();
    term_screen = newterm(NULL, stdout, stdin);
    if (!term_screen) {
        stderr_release();
        remove_handlers();
        return PF_ERR(PF_EUNSUPPORTED, "cannot set up the terminal (TERM=%s)",
                      getenv("TERM") ? getenv("TERM") : "");
    }
    set_term(term_screen);
    curses_up = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    timeout(TICK_MS);
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              ,
              NULL);
    mouseinterval(0);
    pf_theme_init(!(nc && nc[0]));
    return 0;
}

static void terminal_stop(void)
{
    terminal_restore();
    if (term_screen) {
        delscreen(term_screen);
        term_screen = NULL;
    }
    remove_handlers();
}

/* ---- the main loop ---- */

static void run_loop(struct pf_app *app)
{
    struct frame f = {0};
    frame_layout(&f, app);
    double last_draw = 0;
    while (!app->quit) {
        if (quit_signal) {
            if (pf_app_run_active(app))
                pf_run_cancel(app->run);
            break;
        }
        /* the elapsed time and ETA of a run change without events: once a second */
        if (pf_app_run_active(app) && pf_now_s() - last_draw > 1.0)
            app->dirty = true;
        if (app->dirty) {
            app->dirty = false;
            frame_draw(&f, app);
            last_draw = pf_now_s();
        }
        int ch = wgetch(f.body ? f.body : stdscr);
        if (ch == KEY_RESIZE) {
            frame_layout(&f, app);
            app->dirty = true;
        } else if (ch == KEY_MOUSE) {
            on_mouse(app);
        } else if (ch == '\r') {
            pf_app_key(app, '\n'); /* nonl(): Enter arrives as CR */
        } else if (ch != ERR) {
            pf_app_key(app, ch);
        }
        pf_app_tick(app);
    }
    if (pf_app_run_active(app) && f.body) {
        /* the worker finishes its step, evaluates and writes its model: say so */
        werase(f.bottom);
        pf_w_put(f.bottom, 0, 1, COLS - 2, A_BOLD,
                 "stopping the run: it finishes its step and writes its model...");
        wnoutrefresh(f.bottom);
        doupdate();
    }
    frame_free(&f);
}

int pf_tui_main(const char *model_path, const char *runs_root)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return PF_ERR(PF_EINVAL,
                      "the workbench needs a terminal on stdin and stdout; without one use "
                      "`pocketflow info MODEL` (layer table and totals), `pocketflow run` "
                      "(compress), `pocketflow sensitivity MODEL` or `pocketflow eval MODEL`");
    struct pf_app *app = pf_calloc(1, sizeof *app);
    if (!app)
        return -PF_ENOMEM;
    int rc = pf_app_init(app, model_path, runs_root);
    if (rc < 0)
        goto done;
    if ((rc = terminal_start()) < 0)
        goto done;
    quit_signal = 0;
    pf_log_set_sink(log_sink, app);
    run_loop(app);
    pf_app_deinit(app); /* joins a run's worker: no thread logs after this */
    pf_log_set_sink(NULL, NULL);
    terminal_stop();
    free(app);
    return 0;
done:
    pf_app_deinit(app);
    free(app);
    return rc;
}
