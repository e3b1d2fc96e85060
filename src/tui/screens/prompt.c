/* prompt.c: a one-line modal prompt (file names, filters) or a y/n question. The pusher passes
 * a struct pf_prompt_req; Enter hands the text to its accept(), which either takes it (the
 * prompt closes) or refuses it with a message (the prompt stays open for a correction). Tab
 * completes file names. An optional hint line under the field says what to type. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "tui/app.h"
#include "tui/screens/screens.h"
#include "tui/theme.h"
#include "tui/widgets/text.h"

enum { K_ACCEPT = 1, K_CANCEL, K_LEFT, K_RIGHT, K_HOME, K_END, K_BKSP, K_DEL, K_KILL, K_TAB };

static const struct pf_binding bindings[] = {
    {'\n', K_ACCEPT, "Enter", "accept", "accept the text (y answers a question)"},
    {KEY_ENTER, K_ACCEPT, NULL, NULL, NULL},
    {PF_KEY_ESC, K_CANCEL, "Esc", "cancel", "close without doing anything"},
    {PF_KEY_CTRL('g'), K_CANCEL, NULL, NULL, NULL},
    {PF_KEY_TAB, K_TAB, "Tab", "complete", "complete a file name"},
    {KEY_LEFT, K_LEFT, "Left/Right", NULL, "move the cursor"},
    {KEY_RIGHT, K_RIGHT, NULL, NULL, NULL},
    {KEY_HOME, K_HOME, "^A/^E", NULL, "start / end of the text"},
    {PF_KEY_CTRL('a'), K_HOME, NULL, NULL, NULL},
    {KEY_END, K_END, NULL, NULL, NULL},
    {PF_KEY_CTRL('e'), K_END, NULL, NULL, NULL},
    {KEY_BACKSPACE, K_BKSP, "Backspace", NULL, "delete before the cursor"},
    {127, K_BKSP, NULL, NULL, NULL},
    {8, K_BKSP, NULL, NULL, NULL},
    {KEY_DC, K_DEL, NULL, NULL, NULL},
    {PF_KEY_CTRL('u'), K_KILL, "^U", NULL, "clear the text"},
};
static const struct pf_keymap keymap = {"Prompt", bindings, (int)PF_ARRAY_LEN(bindings)};

static int prompt_enter(struct pf_screen *s, struct pf_app *app)
{
    (void)app;
    struct pf_prompt_view *v = pf_calloc(1, sizeof *v);
    if (!v)
        return -PF_ENOMEM;
    s->state = v;
    const struct pf_prompt_req *req = s->arg;
    v->req = *req;
    snprintf(v->title, sizeof v->title, "%s", req->title ? req->title : "");
    v->req.title = v->title;
    snprintf(v->hint, sizeof v->hint, "%s", req->hint ? req->hint : "");
    v->req.hint = v->hint;
    snprintf(v->text, sizeof v->text, "%s", req->initial ? req->initial : "");
    v->req.initial = NULL;
    v->pos = (int)strlen(v->text);
    return 0;
}

static void prompt_leave(struct pf_screen *s)
{
    free(s->state);
    s->state = NULL;
}

/* Completes the word before the cursor to the longest common prefix of matching paths. */
static void complete(struct pf_prompt_view *v)
{
    char pat[1100];
    snprintf(pat, sizeof pat, "%.*s*", v->pos, v->text);
    glob_t g;
    if (glob(pat, GLOB_MARK, NULL, &g) != 0)
        return;
    size_t common = strlen(g.gl_pathv[0]);
    for (size_t i = 1; i < g.gl_pathc; i++) {
        size_t k = 0;
        while (k < common && g.gl_pathv[i][k] == g.gl_pathv[0][k])
            k++;
        common = k;
    }
    if (common < sizeof v->text && common >= (size_t)v->pos) {
        /* text = the common prefix + what followed the cursor */
        size_t tail = strlen(v->text + v->pos);
        if (common + tail < sizeof v->text) {
            memmove(v->text + common, v->text + v->pos, tail + 1);
            memcpy(v->text, g.gl_pathv[0], common);
            v->pos = (int)common;
        }
    }
    globfree(&g);
}

static enum pf_key_result prompt_key(struct pf_screen *s, int ch)
{
    struct pf_prompt_view *v = s->state;
    struct pf_app *app = s->app;
    if (v->req.confirm) {
        if (ch == 'y' || ch == 'Y') {
            if (v->req.accept)
                v->req.accept(app, "y");
            return PF_KEY_POP;
        }
        return ch == 'n' || ch == 'N' || ch == PF_KEY_ESC || ch == 'q' ? PF_KEY_POP
                                                                       : PF_KEY_HANDLED;
    }
    int len = (int)strlen(v->text);
    switch (pf_keymap_action(&keymap, ch)) {
    case K_ACCEPT: {
        int rc = v->req.accept ? v->req.accept(app, v->text) : 0;
        if (rc < 0) {
            pf_app_err(app, rc);
            return PF_KEY_REDRAW;
        }
        return PF_KEY_POP;
    }
    case K_CANCEL:
        return PF_KEY_POP;
    case K_LEFT:
        v->pos -= v->pos > 0;
        break;
    case K_RIGHT:
        v->pos += v->pos < len;
        break;
    case K_HOME:
        v->pos = 0;
        break;
    case K_END:
        v->pos = len;
        break;
    case K_BKSP:
        if (v->pos > 0) {
            memmove(v->text + v->pos - 1, v->text + v->pos, (size_t)(len - v->pos + 1));
            v->pos--;
        }
        break;
    case K_DEL:
        if (v->pos < len)
            memmove(v->text + v->pos, v->text + v->pos + 1, (size_t)(len - v->pos));
        break;
    case K_KILL:
        v->text[0] = 0;
        v->pos = 0;
        break;
    case K_TAB:
        complete(v);
        break;
    default:
        if (ch >= 32 && ch < 127 && len + 1 < (int)sizeof v->text) {
            memmove(v->text + v->pos + 1, v->text + v->pos, (size_t)(len - v->pos + 1));
            v->text[v->pos++] = (char)ch;
        }
        break;
    }
    return PF_KEY_REDRAW;
}

static void prompt_draw(const struct pf_screen *s, WINDOW *w)
{
    const struct pf_prompt_view *v = s->state;
    int H, W;
    getmaxyx(w, H, W);
    int bw = W - 8 < 72 ? W - 8 : 72, bh = v->req.confirm ? 4 : 5;
    if (bw < 20)
        bw = W;
    int y = H / 2 - bh / 2, x = (W - bw) / 2;
    pf_w_box(w, y, x, bh, bw, v->req.confirm ? "Confirm" : "Input");
    pf_w_put(w, y + 1, x + 2, bw - 4, A_BOLD, v->title);
    if (v->req.confirm) {
        pf_w_put(w, y + 2, x + 2, bw - 4, pf_theme(PF_ROLE_DIM), "y: yes   n/Esc: no");
        return;
    }
    int fw = bw - 4, start = v->pos >= fw ? v->pos - fw + 1 : 0;
    pf_w_fill(w, y + 2, x + 2, fw, A_UNDERLINE);
    pf_w_put(w, y + 2, x + 2, fw, A_UNDERLINE, v->text + start);
    char c[2] = {v->text[v->pos] ? v->text[v->pos] : ' ', 0};
    pf_w_put(w, y + 2, x + 2 + v->pos - start, 1, A_REVERSE, c);
    pf_w_put(w, y + 3, x + 2, bw - 4, pf_theme(PF_ROLE_DIM),
             v->hint[0] ? v->hint : "Enter accept  Esc cancel  Tab complete");
}

const struct pf_screen_ops pf_screen_prompt = {
    .name = "Prompt",
    .keys = &keymap,
    .modal = true,
    .enter = prompt_enter,
    .draw = prompt_draw,
    .key = prompt_key,
    .leave = prompt_leave,
};
