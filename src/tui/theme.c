/* theme.c: colour pairs and monochrome fallbacks for each role (see theme.h). */
#include "tui/theme.h"

static attr_t roles[PF_ROLE_N]; /* A_NORMAL until pf_theme_init */
static bool utf8;

void pf_theme_init(bool colour)
{
    /* monochrome first: every role must stay distinguishable without colour */
    roles[PF_ROLE_NORMAL] = A_NORMAL;
    roles[PF_ROLE_TITLE] = A_REVERSE;
    roles[PF_ROLE_TAB] = A_BOLD;
    roles[PF_ROLE_HEADER] = A_BOLD | A_UNDERLINE;
    roles[PF_ROLE_SELECTED] = A_REVERSE;
    roles[PF_ROLE_FOCUS] = A_BOLD;
    roles[PF_ROLE_DIM] = A_DIM;
    roles[PF_ROLE_CHANGED] = A_BOLD;
    roles[PF_ROLE_GOOD] = A_BOLD;
    roles[PF_ROLE_WARN] = A_BOLD;
    roles[PF_ROLE_ERROR] = A_BOLD | A_UNDERLINE;
    roles[PF_ROLE_BAR] = A_NORMAL;
    roles[PF_ROLE_LINE1] = A_NORMAL;
    roles[PF_ROLE_LINE2] = A_BOLD;
    roles[PF_ROLE_KEY] = A_BOLD;
    if (!colour || !has_colors() || start_color() == ERR)
        return;
    use_default_colors();
    static const struct {
        enum pf_role role;
        short fg, bg;
        attr_t extra;
    } pairs[] = {
        {PF_ROLE_TITLE, COLOR_BLACK, COLOR_CYAN, 0},
        {PF_ROLE_TAB, COLOR_WHITE, COLOR_BLUE, A_BOLD},
        {PF_ROLE_HEADER, COLOR_CYAN, -1, A_BOLD},
        {PF_ROLE_SELECTED, COLOR_BLACK, COLOR_CYAN, 0},
        {PF_ROLE_CHANGED, COLOR_YELLOW, -1, A_BOLD},
        {PF_ROLE_GOOD, COLOR_GREEN, -1, A_BOLD},
        {PF_ROLE_WARN, COLOR_YELLOW, -1, A_BOLD},
        {PF_ROLE_ERROR, COLOR_RED, -1, A_BOLD},
        {PF_ROLE_BAR, COLOR_BLUE, -1, 0},
        {PF_ROLE_LINE1, COLOR_GREEN, -1, 0},
        {PF_ROLE_LINE2, COLOR_MAGENTA, -1, 0},
        {PF_ROLE_KEY, COLOR_CYAN, -1, A_BOLD},
    };
    for (short i = 0; i < (short)(sizeof pairs / sizeof pairs[0]); i++) {
        init_pair((short)(i + 1), pairs[i].fg, pairs[i].bg);
        roles[pairs[i].role] = COLOR_PAIR(i + 1) | pairs[i].extra;
    }
}

attr_t pf_theme(enum pf_role role)
{
    return role < PF_ROLE_N ? roles[role] : A_NORMAL;
}

void pf_theme_set_utf8(bool on)
{
    utf8 = on;
}

bool pf_theme_utf8(void)
{
    return utf8;
}
