/* model_h5.c: pf_model <-> HDF5 model file (DESIGN.md section 4); the only file that includes
 * <hdf5.h>.
 *
 * HDF5's conventions stop here: its automatic error printer is off (it would write over the
 * TUI), a negative return becomes -PF_EIO whose message carries HDF5's innermost error
 * description, and one mutex serialises every HDF5 call (the serial build is not thread-safe).
 * Files are written the way h5py writes them (variable-length UTF-8 string attributes, int64
 * integer attributes, contiguous little-endian datasets), and read whichever way a writer chose. */
#include "engine/io/model_h5.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

#define META_KEY_MAX 255
#define H5_NAME_MAX  256 /* longest group / dataset name this file reads back */

/* ---- run metadata ---- */

void pf_meta_init(struct pf_meta *m)
{
    memset(m, 0, sizeof *m);
}

void pf_meta_deinit(struct pf_meta *m)
{
    for (size_t i = m->n; i-- > 0;) {
        free(m->items[i].value);
        free(m->items[i].key);
    }
    free(m->items);
    memset(m, 0, sizeof *m);
}

const char *pf_meta_get(const struct pf_meta *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0)
            return m->items[i].value;
    return NULL;
}

int pf_meta_set(struct pf_meta *m, const char *key, const char *value)
{
    if (!key || !*key || strlen(key) > META_KEY_MAX || !value)
        return PF_ERR(PF_EINVAL, "metadata key '%.40s' must be 1..%d bytes with a value",
                      key ? key : "(null)", META_KEY_MAX);
    char *v = pf_strdup(value);
    if (!v)
        return -PF_ENOMEM;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0) {
            free(m->items[i].value);
            m->items[i].value = v;
            return 0;
        }
    char *k = pf_strdup(key);
    if (!k) {
        free(v);
        return -PF_ENOMEM;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        struct pf_meta_item *it = pf_realloc_array(m->items, cap, sizeof *it);
        if (!it) {
            free(k);
            free(v);
            return -PF_ENOMEM;
        }
        m->items = it;
        m->cap = cap;
    }
    m->items[m->n].key = k;
    m->items[m->n].value = v;
    m->n++;
    return 0;
}

/* ---- HDF5 boundary: lock, silence, translate errors ---- */

static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

static void h5_enter(void)
{
    pthread_mutex_lock(&h5_lock);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* never print: errors are returned */
}

static void h5_leave(void)
{
    pthread_mutex_unlock(&h5_lock);
}

struct h5_walk {
    char desc[256];
    bool found;
};

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    struct h5_walk *w = data;
    (void)n;
    if (!w->found && e->desc && e->desc[0]) {
        snprintf(w->desc, sizeof w->desc, "%s", e->desc);
        for (char *c = w->desc; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' '; /* one-line messages: the TUI shows them in its status bar */
        w->found = true;
    }
    return 0;
}

/* Sets -PF_EIO: "<file>: <what>: <HDF5's most specific description>". Call it right after the
 * failing HDF5 call, before any other HDF5 call clears the error stack. */
static int h5_err(int line, const char *file, const char *what)
{
    struct h5_walk w = {.found = false};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, &w);
    return pf_err_set_at(__FILE__, line, PF_EIO, "%s: %s: %s", file, what,
                         w.found ? w.desc : "HDF5 error");
}

/* Closes any kind of HDF5 handle that is open (ignores H5I_INVALID_HID). */
static void h5_close(hid_t *id)
{
    if (*id < 0)
        return;
    switch (H5Iget_type(*id)) {
    case H5I_FILE:
        H5Fclose(*id);
        break;
    case H5I_GROUP:
        H5Gclose(*id);
        break;
    case H5I_DATASET:
        H5Dclose(*id);
        break;
    case H5I_ATTR:
        H5Aclose(*id);
        break;
    case H5I_DATATYPE:
        H5Tclose(*id);
        break;
    case H5I_DATASPACE:
        H5Sclose(*id);
        break;
    default:
        break;
    }
    *id = H5I_INVALID_HID;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER:
        return "integer";
    case H5T_FLOAT:
        return "float";
    case H5T_STRING:
        return "string";
    case H5T_ENUM:
        return "enum (e.g. a numpy bool array)";
    case H5T_COMPOUND:
        return "compound";
    default:
        return "another type";
    }
}

/* ---- writing ---- */

static int write_str_attr(hid_t loc, const char *name, const char *value, const char *file)
{
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    int rc = 0;
    char what[300];
    snprintf(what, sizeof what, "cannot write attribute '%s'", name);
    type = H5Tcopy(H5T_C_S1);
    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0 ||
        (space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(attr, type, &value) < 0)
        rc = h5_err(__LINE__, file, what);
    h5_close(&attr);
    h5_close(&space);
    h5_close(&type);
    return rc;
}

static int write_int_attr(hid_t loc, const char *name, long long value, const char *file)
{
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    int rc = 0;
    char what[300];
    snprintf(what, sizeof what, "cannot write attribute '%s'", name);
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(loc, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(attr, H5T_NATIVE_LLONG, &value) < 0)
        rc = h5_err(__LINE__, file, what);
    h5_close(&attr);
    h5_close(&space);
    return rc;
}

/* Writes dataset <grp>/<name> of ndim dims from data in memory type mtype. With compress (and
 * HDF5's deflate filter available) the dataset is one chunk with the shuffle and deflate
 * filters: what makes a sparse tensor's zeros and its 0 / 1 mask small on disk; h5py and
 * h5dump read it transparently. */
static int write_array(hid_t grp, const char *name, hid_t ftype, hid_t mtype, int ndim,
                       const hsize_t *dims, const void *data, bool compress, const char *file,
                       const char *what)
{
    hid_t space = H5I_INVALID_HID, ds = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    int rc = 0;
    hsize_t n = 1;
    for (int k = 0; k < ndim; k++)
        n *= dims[k];
    if (compress && n > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        if ((dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, ndim, dims) < 0 ||
            H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 6) < 0) {
            rc = h5_err(__LINE__, file, what);
            goto out;
        }
    }
    if ((space = H5Screate_simple(ndim, dims, NULL)) < 0 ||
        (ds = H5Dcreate2(grp, name, ftype, space, H5P_DEFAULT, dcpl >= 0 ? dcpl : H5P_DEFAULT,
                         H5P_DEFAULT)) < 0 ||
        H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = h5_err(__LINE__, file, what);
out:
    h5_close(&ds);
    h5_close(&space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return rc;
}

/* Writes dataset <grp>/<name> of the tensor's shape from data in memory type mtype. */
static int write_tensor(hid_t grp, const char *name, hid_t ftype, hid_t mtype,
                        const struct pf_tensor *t, const void *data, bool compress,
                        const char *file, const char *what)
{
    hsize_t dims[PF_MAX_DIMS];
    for (int k = 0; k < t->ndim; k++)
        dims[k] = (hsize_t)t->shape[k];
    return write_array(grp, name, ftype, mtype, t->ndim, dims, data, compress, file, what);
}

static int write_double_attr(hid_t loc, const char *name, double value, const char *file)
{
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    int rc = 0;
    char what[300];
    snprintf(what, sizeof what, "cannot write attribute '%s'", name);
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(attr, H5T_NATIVE_DOUBLE, &value) < 0)
        rc = h5_err(__LINE__, file, what);
    h5_close(&attr);
    h5_close(&space);
    return rc;
}

/* ---- /quant ---- */

/* The quantized form of p if it still describes p's values exactly (a model trained after it
 * was quantized is float again), else NULL. */
static const struct pf_qtensor *live_quant(const struct pf_param *p)
{
    const struct pf_qtensor *q = p->quant;
    return q && pf_qtensor_matches(q, pf_tensor_f32(&p->w), pf_tensor_numel(&p->w)) ? q : NULL;
}

/* Writes group g (/quant/<layer>/<param>): attributes mode, bucket, bits, bucket_size, numel;
 * datasets indices (uint8, the packed bits), scales, offsets / zero_points / codebook. */
static int write_qtensor(hid_t g, const struct pf_qtensor *q, const char *file, const char *what)
{
    int rc;
    hsize_t n = (hsize_t)q->n_buckets, packed = (hsize_t)pf_qtensor_packed_bytes(q);
    hsize_t cb[2] = {n, (hsize_t)1 << q->bits};
    if ((rc = write_str_attr(g, "mode", pf_qmode_name(q->mode), file)) < 0 ||
        (rc = write_str_attr(g, "bucket", pf_qbucket_name(q->bucket), file)) < 0 ||
        (rc = write_int_attr(g, "bits", q->bits, file)) < 0 ||
        (rc = write_int_attr(g, "bucket_size", q->bucket_size, file)) < 0 ||
        (rc = write_int_attr(g, "numel", (long long)q->numel, file)) < 0 ||
        (rc = write_array(g, "indices", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &packed, q->packed,
                          false, file, what)) < 0)
        return rc;
    if (q->scales && (rc = write_array(g, "scales", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n,
                                       q->scales, false, file, what)) < 0)
        return rc;
    if (q->offsets && (rc = write_array(g, "offsets", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &n,
                                        q->offsets, false, file, what)) < 0)
        return rc;
    if (q->zero_points && (rc = write_array(g, "zero_points", H5T_STD_I32LE, H5T_NATIVE_INT32, 1,
                                            &n, q->zero_points, false, file, what)) < 0)
        return rc;
    if (q->codebook && (rc = write_array(g, "codebook", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, cb,
                                         q->codebook, false, file, what)) < 0)
        return rc;
    return 0;
}

/* Writes an activation entry: attributes mode = "activation", bits, lo, hi, tie (the name of the
 * layer whose range it shares, "input", or ""). */
static int write_actq(hid_t g, const struct pf_model *m, const struct pf_actq *a, const char *file)
{
    int rc;
    const char *tie = a->tie < 0 ? "" : a->tie == m->n_layers ? "input" : m->layers[a->tie].name;
    if ((rc = write_str_attr(g, "mode", "activation", file)) < 0 ||
        (rc = write_int_attr(g, "bits", a->bits, file)) < 0 ||
        (rc = write_double_attr(g, "lo", a->lo, file)) < 0 ||
        (rc = write_double_attr(g, "hi", a->hi, file)) < 0 ||
        (rc = write_str_attr(g, "tie", tie, file)) < 0)
        return rc;
    return 0;
}

/* Opens /quant/<name> in parent, creating /quant and the group as needed (*quant caches the
 * /quant group). */
static hid_t quant_group(hid_t f, hid_t *quant, const char *name, const char *file)
{
    char what[300];
    if (*quant < 0 && (*quant = H5Gcreate2(f, "quant", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        return h5_err(__LINE__, file, "cannot create group /quant");
    snprintf(what, sizeof what, "cannot create group /quant/%s", name);
    hid_t g = H5Gcreate2(*quant, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    return g < 0 ? h5_err(__LINE__, file, what) : g;
}

/* Writes /quant for every quantized param and activation entry of m. */
static int write_quant(hid_t f, const struct pf_model *m, const char *file)
{
    hid_t quant = H5I_INVALID_HID, lg = H5I_INVALID_HID, g = H5I_INVALID_HID;
    char what[3 * H5_NAME_MAX];
    int rc = 0;
    for (int i = 0; i <= m->n_layers && rc == 0; i++) {
        bool input = i == m->n_layers;
        const struct pf_layer *l = input ? NULL : &m->layers[i];
        bool any = m->actq && m->actq[i].bits > 0;
        for (int j = 0; l && j < l->n_params; j++)
            any |= live_quant(&l->params[j]) != NULL;
        if (!any)
            continue;
        const char *name = input ? "input" : l->name;
        if ((lg = quant_group(f, &quant, name, file)) < 0) {
            rc = (int)lg;
            goto out;
        }
        for (int j = 0; l && j < l->n_params && rc == 0; j++) {
            const struct pf_qtensor *q = live_quant(&l->params[j]);
            if (!q)
                continue;
            snprintf(what, sizeof what, "cannot write /quant/%s/%s", name, l->params[j].name);
            if ((g = H5Gcreate2(lg, l->params[j].name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) <
                0) {
                rc = h5_err(__LINE__, file, what);
                goto out;
            }
            rc = write_qtensor(g, q, file, what);
            h5_close(&g);
        }
        if (rc == 0 && m->actq && m->actq[i].bits > 0) {
            snprintf(what, sizeof what, "cannot write /quant/%s/output", name);
            if ((g = H5Gcreate2(lg, "output", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
                rc = h5_err(__LINE__, file, what);
                goto out;
            }
            rc = write_actq(g, m, &m->actq[i], file);
            h5_close(&g);
        }
        h5_close(&lg);
    }
out:
    h5_close(&g);
    h5_close(&lg);
    h5_close(&quant);
    return rc;
}

/* Writes /params/<layer>/<name> for every param (and /masks/... for masked ones). */
static int write_params(hid_t f, const struct pf_model *m, const char *file)
{
    hid_t params = H5I_INVALID_HID, masks = H5I_INVALID_HID, g = H5I_INVALID_HID;
    int rc = 0;
    char what[300];
    if ((params = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, file, "cannot create group /params");
        goto out;
    }
    for (int i = 0; i < m->n_layers && rc == 0; i++) {
        const struct pf_layer *l = &m->layers[i];
        if (l->n_params == 0)
            continue;
        snprintf(what, sizeof what, "cannot create group /params/%s", l->name);
        if ((g = H5Gcreate2(params, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
            rc = h5_err(__LINE__, file, what);
            goto out;
        }
        for (int j = 0; j < l->n_params && rc == 0; j++) {
            const struct pf_param *p = &l->params[j];
            if (live_quant(p))
                continue; /* stored under /quant instead */
            snprintf(what, sizeof what, "cannot write /params/%s/%s", l->name, p->name);
            rc = write_tensor(g, p->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &p->w, p->w.data,
                              p->mask != NULL, file, what);
        }
        h5_close(&g);
    }
    for (int i = 0; i < m->n_layers && rc == 0; i++) {
        const struct pf_layer *l = &m->layers[i];
        bool any = false;
        for (int j = 0; j < l->n_params; j++)
            any |= l->params[j].mask != NULL;
        if (!any)
            continue;
        if (masks < 0 &&
            (masks = H5Gcreate2(f, "masks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
            rc = h5_err(__LINE__, file, "cannot create group /masks");
            goto out;
        }
        snprintf(what, sizeof what, "cannot create group /masks/%s", l->name);
        if ((g = H5Gcreate2(masks, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
            rc = h5_err(__LINE__, file, what);
            goto out;
        }
        for (int j = 0; j < l->n_params && rc == 0; j++) {
            const struct pf_param *p = &l->params[j];
            if (!p->mask)
                continue;
            snprintf(what, sizeof what, "cannot write /masks/%s/%s", l->name, p->name);
            rc = write_tensor(g, p->name, H5T_STD_U8LE, H5T_NATIVE_UINT8, &p->w, p->mask, true,
                              file, what);
        }
        h5_close(&g);
    }
out:
    h5_close(&g);
    h5_close(&masks);
    h5_close(&params);
    return rc;
}

/* A layer name becomes an HDF5 group name: no '/', not "." (netdefs allow any string). */
static int check_names(const struct pf_model *m, const char *file)
{
    for (int i = 0; i < m->n_layers; i++) {
        const char *n = m->layers[i].name;
        if (strchr(n, '/') || strcmp(n, ".") == 0 || !*n)
            return PF_ERR(PF_EINVAL,
                          "%s: layer name '%s' cannot be an HDF5 group name (no "
                          "'/', not '.')",
                          file, n);
    }
    return 0;
}

int pf_model_save(const struct pf_model *m, const char *path, const char *dataset,
                  const struct pf_meta *meta)
{
    char *tmp = NULL, *yaml = NULL;
    hid_t f = H5I_INVALID_HID, g = H5I_INVALID_HID;
    bool locked = false, created = false;
    int rc = check_names(m, path);
    if (rc < 0)
        return rc;
    size_t n = strlen(path) + 5;
    if (!(tmp = pf_malloc(n)))
        return -PF_ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    if ((rc = pf_model_to_yaml(m, &yaml)) < 0)
        goto out;
    h5_enter();
    locked = true;
    if ((f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, tmp, "cannot create");
        goto out;
    }
    created = true;
    if ((rc = write_str_attr(f, "format", PF_MODEL_FORMAT, tmp)) < 0 ||
        (rc = write_int_attr(f, "version", PF_MODEL_VERSION, tmp)) < 0 ||
        (rc = write_str_attr(f, "netdef", yaml, tmp)) < 0 ||
        (rc = write_str_attr(f, "dataset", dataset ? dataset : "", tmp)) < 0 ||
        (rc = write_int_attr(f, "classes", m->classes, tmp)) < 0 ||
        (rc = write_params(f, m, tmp)) < 0 || (rc = write_quant(f, m, tmp)) < 0)
        goto out;
    if ((g = H5Gcreate2(f, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, tmp, "cannot create group /meta");
        goto out;
    }
    for (size_t i = 0; meta && i < meta->n; i++)
        if ((rc = write_str_attr(g, meta->items[i].key, meta->items[i].value, tmp)) < 0)
            goto out;
    h5_close(&g);
    herr_t closed = H5Fclose(f);
    f = H5I_INVALID_HID;
    if (closed < 0) {
        rc = h5_err(__LINE__, tmp, "cannot finish writing");
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = PF_ERR(PF_EIO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        goto out;
    }
    created = false;
out:
    h5_close(&g);
    h5_close(&f);
    if (locked)
        h5_leave();
    if (created)
        unlink(tmp); /* never leave a half-written file behind */
    free(yaml);
    free(tmp);
    return rc;
}

/* ---- reading attributes ---- */

/* Opens attribute `name` of obj holding exactly one element. *a is H5I_INVALID_HID (and 0 is
 * returned) when it does not exist. */
static int open_attr(hid_t obj, const char *name, const char *file, hid_t *a)
{
    *a = H5I_INVALID_HID;
    char what[300];
    snprintf(what, sizeof what, "cannot read attribute '%s'", name);
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0)
        return h5_err(__LINE__, file, what);
    if (ex == 0)
        return 0;
    hid_t id = H5Aopen(obj, name, H5P_DEFAULT);
    if (id < 0)
        return h5_err(__LINE__, file, what);
    hid_t space = H5Aget_space(id);
    hssize_t np = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    h5_close(&space);
    if (np != 1) {
        H5Aclose(id);
        return PF_ERR(PF_EPARSE, "%s: attribute '%s' must hold one value, not %lld", file, name,
                      (long long)np);
    }
    *a = id;
    return 0;
}

/* Reads a string attribute, variable- or fixed-length, into a new string (*out; NULL if the
 * attribute does not exist). */
static int read_str_attr(hid_t obj, const char *name, const char *file, char **out)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char *s = NULL, what[300];
    *out = NULL;
    snprintf(what, sizeof what, "cannot read attribute '%s'", name);
    int rc = open_attr(obj, name, file, &a);
    if (rc < 0 || a < 0)
        return rc;
    if ((t = H5Aget_type(a)) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    H5T_class_t cls = H5Tget_class(t);
    if (cls != H5T_STRING) {
        rc = PF_ERR(PF_EPARSE, "%s: attribute '%s' is %s, expected a string", file, name,
                    class_name(cls));
        goto out;
    }
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0 || H5Aread(a, mt, &v) < 0) {
            rc = h5_err(__LINE__, file, what);
            goto out;
        }
        s = pf_strdup(v ? v : "");
        H5free_memory(v);
    } else {
        size_t sz = H5Tget_size(t);
        if (sz == 0 || (mt = H5Tcopy(t)) < 0) {
            rc = h5_err(__LINE__, file, what);
            goto out;
        }
        if ((s = pf_malloc(sz + 1))) {
            if (H5Aread(a, mt, s) < 0) {
                rc = h5_err(__LINE__, file, what);
                goto out;
            }
            s[sz] = 0; /* NUL-padded or space-padded: cut the padding */
            if (H5Tget_strpad(t) == H5T_STR_SPACEPAD)
                for (size_t k = strlen(s); k > 0 && s[k - 1] == ' '; k--)
                    s[k - 1] = 0;
        }
    }
    if (!s)
        rc = -PF_ENOMEM;
out:
    if (rc < 0) {
        free(s);
        s = NULL;
    }
    *out = s;
    h5_close(&mt);
    h5_close(&t);
    h5_close(&a);
    return rc;
}

/* Reads an integer attribute of any width or sign. *found says whether it exists. */
static int read_int_attr(hid_t obj, const char *name, const char *file, long long *v, bool *found)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    char what[300];
    *found = false;
    snprintf(what, sizeof what, "cannot read attribute '%s'", name);
    int rc = open_attr(obj, name, file, &a);
    if (rc < 0 || a < 0)
        return rc;
    if ((t = H5Aget_type(a)) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    H5T_class_t cls = H5Tget_class(t);
    if (cls != H5T_INTEGER) {
        rc = PF_ERR(PF_EPARSE, "%s: attribute '%s' is %s, expected an integer", file, name,
                    class_name(cls));
        goto out;
    }
    if (H5Aread(a, H5T_NATIVE_LLONG, v) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    *found = true;
out:
    h5_close(&t);
    h5_close(&a);
    return rc;
}

/* A required string attribute of the root. */
static int need_str(hid_t f, const char *name, const char *file, char **out)
{
    int rc = read_str_attr(f, name, file, out);
    if (rc == 0 && !*out)
        rc = PF_ERR(PF_EPARSE,
                    "%s: not a valid pocketflow model: the root attribute '%s' is "
                    "missing",
                    file, name);
    return rc;
}

static int need_int(hid_t f, const char *name, const char *file, long long *v)
{
    bool found = false;
    int rc = read_int_attr(f, name, file, v, &found);
    if (rc == 0 && !found)
        rc = PF_ERR(PF_EPARSE,
                    "%s: not a valid pocketflow model: the root attribute '%s' is "
                    "missing",
                    file, name);
    return rc;
}

/* ---- reading tensors ---- */

/* 1 if the link path (absolute, "/a/b/c") exists, walking each component; 0 if not; <0 error. */
static int link_exists(hid_t f, const char *path, const char *file)
{
    char buf[3 * H5_NAME_MAX + 8];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0)
            continue;
        char c = *p;
        *p = 0;
        htri_t ex = H5Lexists(f, buf, H5P_DEFAULT);
        if (ex < 0)
            return h5_err(__LINE__, file, "cannot look up a link");
        if (ex == 0)
            return 0;
        if (c == 0)
            return 1;
        *p = c;
    }
}

static const char *dims_str(int nd, const hsize_t *d, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    if (nd == 0)
        snprintf(buf, n, "a scalar");
    for (int k = 0; k < nd && used < n; k++) {
        int w = snprintf(buf + used, n - used, "%s%llu", k ? "x" : "", (unsigned long long)d[k]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* Reads /<group>/<layer>/<param> into dst, checking class and shape against p->w. For params,
 * a missing dataset is an error; for masks (is_mask), *found says whether it was there. */
static int read_tensor(hid_t f, const char *file, const struct pf_layer *l,
                       const struct pf_param *p, bool is_mask, void *dst, bool *found)
{
    const char *grp = is_mask ? "masks" : "params";
    hid_t ds = H5I_INVALID_HID, t = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char name[3 * H5_NAME_MAX], what[3 * H5_NAME_MAX + 32], want[64], got[H5S_MAX_RANK * 21];
    hsize_t dims[H5S_MAX_RANK];
    snprintf(name, sizeof name, "/%s/%s/%s", grp, l->name, p->name);
    snprintf(what, sizeof what, "cannot read %s", name + 1);
    pf_tensor_shape_str(&p->w, want, sizeof want);
    *found = false;
    int rc = link_exists(f, name, file);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (is_mask)
            return 0;
        return PF_ERR(PF_EPARSE,
                      "%s: %s is missing: the netdef's layer '%s' needs param '%s' "
                      "of shape %s",
                      file, name + 1, l->name, p->name, want);
    }
    if ((ds = H5Dopen2(f, name, H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    if ((t = H5Dget_type(ds)) < 0 || (space = H5Dget_space(ds)) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    H5T_class_t cls = H5Tget_class(t), need = is_mask ? H5T_INTEGER : H5T_FLOAT;
    if (cls != need) {
        rc = PF_ERR(PF_EPARSE, "%s: %s is %s, expected %s", file, name + 1, class_name(cls),
                    is_mask ? "uint8 (0 / 1)" : "float32");
        goto out;
    }
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    bool same = nd == p->w.ndim;
    for (int k = 0; same && k < nd; k++)
        same = dims[k] == (hsize_t)p->w.shape[k];
    if (!same) {
        rc = PF_ERR(PF_ESHAPE, "%s: %s has shape %s, but the netdef's layer '%s' needs %s %s", file,
                    name + 1, dims_str(nd, dims, got, sizeof got), l->name, p->name, want);
        goto out;
    }
    if (H5Dread(ds, is_mask ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                dst) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    *found = true;
out:
    h5_close(&space);
    h5_close(&t);
    h5_close(&ds);
    return rc;
}

/* The name of link i of group g into buf; <0 on error or a name too long. */
static int link_name(hid_t g, hsize_t i, char *buf, size_t n, const char *file)
{
    ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
    if (len < 0)
        return h5_err(__LINE__, file, "cannot list a group");
    if ((size_t)len >= n)
        return PF_ERR(PF_EPARSE, "%s: a name of %zd bytes is too long", file, len);
    if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, n, H5P_DEFAULT) < 0)
        return h5_err(__LINE__, file, "cannot list a group");
    return 0;
}

static int group_count(hid_t g, const char *file, hsize_t *n)
{
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0)
        return h5_err(__LINE__, file, "cannot list a group");
    *n = info.nlinks;
    return 0;
}

/* Fails if /<grp> (params or masks) holds a layer or a dataset the netdef does not have. */
static int check_extras(hid_t f, const struct pf_model *m, const char *grp, const char *file)
{
    hid_t g = H5I_INVALID_HID, lg = H5I_INVALID_HID;
    char path[8], lname[H5_NAME_MAX], pname[H5_NAME_MAX], what[2 * H5_NAME_MAX];
    hsize_t n = 0, np = 0;
    snprintf(path, sizeof path, "/%s", grp);
    htri_t ex = H5Lexists(f, path, H5P_DEFAULT);
    if (ex <= 0)
        return ex < 0 ? h5_err(__LINE__, file, "cannot look up a link") : 0;
    int rc = 0;
    if ((g = H5Gopen2(f, path, H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, file, "cannot open a group");
        goto out;
    }
    if ((rc = group_count(g, file, &n)) < 0)
        goto out;
    for (hsize_t i = 0; i < n; i++) {
        if ((rc = link_name(g, i, lname, sizeof lname, file)) < 0)
            goto out;
        int li = pf_model_find(m, lname);
        if (li < 0 || m->layers[li].n_params == 0) {
            rc = PF_ERR(PF_EPARSE, "%s: %s/%s: the netdef has no layer '%s' with params", file, grp,
                        lname, lname);
            goto out;
        }
        snprintf(what, sizeof what, "%s/%s is not a group", grp, lname);
        if ((lg = H5Gopen2(g, lname, H5P_DEFAULT)) < 0) {
            rc = h5_err(__LINE__, file, what);
            goto out;
        }
        if ((rc = group_count(lg, file, &np)) < 0)
            goto out;
        for (hsize_t j = 0; j < np; j++) {
            if ((rc = link_name(lg, j, pname, sizeof pname, file)) < 0)
                goto out;
            if (!pf_layer_param(&m->layers[li], pname)) {
                rc = PF_ERR(PF_EPARSE,
                            "%s: %s/%s/%s: the netdef's layer '%s' (%s) has no "
                            "param '%s'",
                            file, grp, lname, pname, lname, m->layers[li].ops->name, pname);
                goto out;
            }
        }
        h5_close(&lg);
    }
out:
    h5_close(&lg);
    h5_close(&g);
    return rc;
}

/* ---- reading /quant ---- */

static int read_double_attr(hid_t obj, const char *name, const char *file, double *v, bool *found)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    char what[300];
    *found = false;
    snprintf(what, sizeof what, "cannot read attribute '%s'", name);
    int rc = open_attr(obj, name, file, &a);
    if (rc < 0 || a < 0)
        return rc;
    if ((t = H5Aget_type(a)) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    H5T_class_t cls = H5Tget_class(t);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        rc = PF_ERR(PF_EPARSE, "%s: attribute '%s' is %s, expected a number", file, name,
                    class_name(cls));
        goto out;
    }
    if (H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    *found = true;
out:
    h5_close(&t);
    h5_close(&a);
    return rc;
}

/* Required attributes of a /quant entry (path names it in messages). */
static int need_attr_int(hid_t g, const char *name, const char *file, const char *path,
                         long long *v)
{
    bool found = false;
    int rc = read_int_attr(g, name, file, v, &found);
    if (rc == 0 && !found)
        rc = PF_ERR(PF_EPARSE, "%s: %s has no attribute '%s'", file, path, name);
    return rc;
}

static int need_attr_str(hid_t g, const char *name, const char *file, const char *path, char **v)
{
    int rc = read_str_attr(g, name, file, v);
    if (rc == 0 && !*v)
        rc = PF_ERR(PF_EPARSE, "%s: %s has no attribute '%s'", file, path, name);
    return rc;
}

/* Reads dataset g/name holding exactly n elements of class cls into dst (memory type mtype). */
static int read_array(hid_t g, const char *name, H5T_class_t cls, hid_t mtype, size_t n, void *dst,
                      const char *file, const char *path)
{
    hid_t ds = H5I_INVALID_HID, t = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char what[3 * H5_NAME_MAX + 64];
    snprintf(what, sizeof what, "cannot read %s/%s", path, name);
    htri_t ex = H5Lexists(g, name, H5P_DEFAULT);
    if (ex <= 0)
        return ex < 0 ? h5_err(__LINE__, file, what)
                      : PF_ERR(PF_EPARSE, "%s: %s has no dataset '%s'", file, path, name);
    int rc = 0;
    if ((ds = H5Dopen2(g, name, H5P_DEFAULT)) < 0 || (t = H5Dget_type(ds)) < 0 ||
        (space = H5Dget_space(ds)) < 0) {
        rc = h5_err(__LINE__, file, what);
        goto out;
    }
    if (H5Tget_class(t) != cls) {
        rc = PF_ERR(PF_EPARSE, "%s: %s/%s is %s, expected %s", file, path, name,
                    class_name(H5Tget_class(t)), class_name(cls));
        goto out;
    }
    hssize_t np = H5Sget_simple_extent_npoints(space);
    if (np < 0 || (size_t)np != n) {
        rc = PF_ERR(PF_ESHAPE, "%s: %s/%s has %lld values, expected %zu", file, path, name,
                    (long long)np, n);
        goto out;
    }
    if (n > 0 && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        rc = h5_err(__LINE__, file, what);
out:
    h5_close(&space);
    h5_close(&t);
    h5_close(&ds);
    return rc;
}

/* Reads /quant/<layer>/<param> (the group at path, open as g) into a new quantized tensor for
 * p, decoding it into p->w. */
static int read_qtensor(hid_t g, const char *file, const char *path, struct pf_param *p)
{
    char *mode_s = NULL, *bucket_s = NULL;
    long long bits = 0, bsize = 0, numel = 0;
    struct pf_qtensor *q = NULL;
    enum pf_qmode mode;
    enum pf_qbucket bucket;
    size_t n = pf_tensor_numel(&p->w);
    int rc;
    if ((rc = need_attr_str(g, "mode", file, path, &mode_s)) < 0 ||
        (rc = need_attr_str(g, "bucket", file, path, &bucket_s)) < 0 ||
        (rc = need_attr_int(g, "bits", file, path, &bits)) < 0 ||
        (rc = need_attr_int(g, "bucket_size", file, path, &bsize)) < 0 ||
        (rc = need_attr_int(g, "numel", file, path, &numel)) < 0)
        goto out;
    if (pf_qmode_parse(mode_s, &mode) < 0 || pf_qbucket_parse(bucket_s, &bucket) < 0) {
        rc = PF_ERR(PF_EPARSE,
                    "%s: %s: mode '%.40s' / bucket '%.40s' (modes: uniform, affine, "
                    "codebook; buckets: tensor, channel, split)",
                    file, path, mode_s, bucket_s);
        goto out;
    }
    if (numel != (long long)n) {
        rc = PF_ERR(PF_ESHAPE, "%s: %s holds %lld values but the netdef's param has %zu", file,
                    path, numel, n);
        goto out;
    }
    if (bits < 1 || bits > PF_QBITS_MAX || bsize < 0 || bsize > INT32_MAX ||
        pf_qtensor_new(&q, mode, bucket, (int)bits, (int)bsize, n, p->w.shape[0]) < 0) {
        rc = PF_ERR(PF_EPARSE, "%s: %s: invalid quantization (%lld bits, %s buckets of %lld)", file,
                    path, bits, bucket_s, bsize);
        goto out;
    }
    size_t nb = (size_t)q->n_buckets;
    if ((rc = read_array(g, "indices", H5T_INTEGER, H5T_NATIVE_UINT8, pf_qtensor_packed_bytes(q),
                         q->packed, file, path)) < 0 ||
        (q->scales && (rc = read_array(g, "scales", H5T_FLOAT, H5T_NATIVE_FLOAT, nb, q->scales,
                                       file, path)) < 0) ||
        (q->offsets && (rc = read_array(g, "offsets", H5T_FLOAT, H5T_NATIVE_FLOAT, nb, q->offsets,
                                        file, path)) < 0) ||
        (q->zero_points && (rc = read_array(g, "zero_points", H5T_INTEGER, H5T_NATIVE_INT32, nb,
                                            q->zero_points, file, path)) < 0) ||
        (q->codebook && (rc = read_array(g, "codebook", H5T_FLOAT, H5T_NATIVE_FLOAT, nb << q->bits,
                                         q->codebook, file, path)) < 0))
        goto out;
    char what[3 * H5_NAME_MAX + 8];
    snprintf(what, sizeof what, "%s: %s", file, path);
    if ((rc = pf_qtensor_check(q, what)) < 0)
        goto out;
    pf_qtensor_dequantize(q, pf_tensor_f32(&p->w));
    pf_qtensor_free(p->quant);
    p->quant = q;
    q = NULL;
out:
    pf_qtensor_free(q);
    free(bucket_s);
    free(mode_s);
    return rc;
}

/* Reads an activation entry (/quant/<layer>/output) into a. */
static int read_actq(hid_t g, const struct pf_model *m, const char *file, const char *path,
                     struct pf_actq *a)
{
    char *mode_s = NULL, *tie = NULL;
    long long bits = 0;
    double lo = 0, hi = 0;
    bool f1 = false, f2 = false;
    int rc;
    if ((rc = need_attr_str(g, "mode", file, path, &mode_s)) < 0 ||
        (rc = need_attr_int(g, "bits", file, path, &bits)) < 0 ||
        (rc = read_double_attr(g, "lo", file, &lo, &f1)) < 0 ||
        (rc = read_double_attr(g, "hi", file, &hi, &f2)) < 0 ||
        (rc = read_str_attr(g, "tie", file, &tie)) < 0)
        goto out;
    if (strcmp(mode_s, "activation") || bits < 1 || bits > 31 || !f1 || !f2 || !(lo <= hi)) {
        rc = PF_ERR(PF_EPARSE,
                    "%s: %s: expected mode \"activation\", bits 1..31 and a range "
                    "lo <= hi",
                    file, path);
        goto out;
    }
    pf_actq_init(a);
    a->bits = (int)bits;
    a->lo = (float)lo;
    a->hi = (float)hi;
    a->ready = true;
    a->frozen = true;
    if (tie && tie[0]) {
        a->tie = !strcmp(tie, "input") ? m->n_layers : pf_model_find(m, tie);
        if (a->tie < 0) {
            rc = PF_ERR(PF_EPARSE, "%s: %s: tie '%.60s' is not a layer", file, path, tie);
            goto out;
        }
    }
out:
    free(tie);
    free(mode_s);
    return rc;
}

/* Reads /quant: quantized params (into their params) and activation entries; anything that
 * does not fit the netdef is an error. The params stored under /quant are marked in done[]
 * (one flag per (layer, param) as l * PF_LAYER_MAX_PARAMS + j). */
static int read_quant(hid_t f, struct pf_model *m, const char *file, bool *done)
{
    hid_t qg = H5I_INVALID_HID, lg = H5I_INVALID_HID, g = H5I_INVALID_HID;
    char lname[H5_NAME_MAX], cname[H5_NAME_MAX], path[3 * H5_NAME_MAX];
    hsize_t n = 0, nc = 0;
    htri_t ex = H5Lexists(f, "/quant", H5P_DEFAULT);
    if (ex <= 0)
        return ex < 0 ? h5_err(__LINE__, file, "cannot look up /quant") : 0;
    int rc = 0;
    if ((qg = H5Gopen2(f, "/quant", H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, file, "cannot open /quant");
        goto out;
    }
    if ((rc = group_count(qg, file, &n)) < 0)
        goto out;
    for (hsize_t i = 0; i < n; i++) {
        if ((rc = link_name(qg, i, lname, sizeof lname, file)) < 0)
            goto out;
        int li = !strcmp(lname, "input") ? m->n_layers : pf_model_find(m, lname);
        if (li < 0) {
            rc =
                PF_ERR(PF_EPARSE, "%s: quant/%s: the netdef has no layer '%s'", file, lname, lname);
            goto out;
        }
        snprintf(path, sizeof path, "quant/%s", lname);
        if ((lg = H5Gopen2(qg, lname, H5P_DEFAULT)) < 0) {
            rc = h5_err(__LINE__, file, "cannot open a /quant group");
            goto out;
        }
        if ((rc = group_count(lg, file, &nc)) < 0)
            goto out;
        for (hsize_t j = 0; j < nc; j++) {
            if ((rc = link_name(lg, j, cname, sizeof cname, file)) < 0)
                goto out;
            snprintf(path, sizeof path, "quant/%s/%s", lname, cname);
            if ((g = H5Gopen2(lg, cname, H5P_DEFAULT)) < 0) {
                rc = h5_err(__LINE__, file, "cannot open a /quant entry");
                goto out;
            }
            struct pf_layer *l = li < m->n_layers ? &m->layers[li] : NULL;
            struct pf_param *p = l ? pf_layer_param(l, cname) : NULL;
            if (!strcmp(cname, "output")) {
                if ((rc = pf_model_actq_enable(m)) < 0 ||
                    (rc = read_actq(g, m, file, path, &m->actq[li])) < 0)
                    goto out;
            } else if (p) {
                if ((rc = read_qtensor(g, file, path, p)) < 0)
                    goto out;
                done[(size_t)li * PF_LAYER_MAX_PARAMS + (size_t)(p - l->params)] = true;
            } else {
                rc = PF_ERR(PF_EPARSE, "%s: %s: the netdef's layer '%s' has no param '%s'", file,
                            path, lname, cname);
                goto out;
            }
            h5_close(&g);
        }
        h5_close(&lg);
    }
out:
    h5_close(&g);
    h5_close(&lg);
    h5_close(&qg);
    return rc;
}

/* Reads every param (required) and every mask (optional) of m from f. */
static int read_params(hid_t f, struct pf_model *m, const char *file)
{
    int rc;
    bool found;
    bool *done = pf_calloc((size_t)m->n_layers * PF_LAYER_MAX_PARAMS, sizeof *done);
    if (!done)
        return -PF_ENOMEM;
    rc = read_quant(f, m, file, done);
    for (int i = 0; rc == 0 && i < m->n_layers; i++) {
        struct pf_layer *l = &m->layers[i];
        for (int j = 0; rc == 0 && j < l->n_params; j++) {
            struct pf_param *p = &l->params[j];
            if (!done[(size_t)i * PF_LAYER_MAX_PARAMS + (size_t)j] &&
                (rc = read_tensor(f, file, l, p, false, p->w.data, &found)) > 0)
                rc = 0; /* read_tensor returns link_exists' 1 on success */
        }
    }
    free(done);
    if (rc < 0)
        return rc;
    for (int i = 0; i < m->n_layers; i++) {
        struct pf_layer *l = &m->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            struct pf_param *p = &l->params[j];
            size_t n = pf_tensor_numel(&p->w);
            uint8_t *mask = pf_malloc(n ? n : 1);
            if (!mask)
                return -PF_ENOMEM;
            rc = read_tensor(f, file, l, p, true, mask, &found);
            if (rc < 0 || !found) {
                free(mask);
                if (rc < 0)
                    return rc;
                continue;
            }
            for (size_t k = 0; k < n; k++)
                if (mask[k] > 1) {
                    unsigned bad = mask[k];
                    free(mask);
                    return PF_ERR(PF_EPARSE,
                                  "%s: masks/%s/%s holds %u at %zu: masks are 0 "
                                  "(pruned) or 1 (kept)",
                                  file, l->name, p->name, bad, k);
                }
            free(p->mask);
            p->mask = mask;
        }
    }
    if ((rc = check_extras(f, m, "params", file)) < 0)
        return rc;
    return check_extras(f, m, "masks", file);
}

/* ---- loading ---- */

/* Opens path read-only after checking it exists and is HDF5. Caller holds the lock. */
static int open_model_file(const char *path, hid_t *f)
{
    *f = H5I_INVALID_HID;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return PF_ERR(PF_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    bool dir = fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode);
    fclose(fp);
    if (dir)
        return PF_ERR(PF_EIO, "%s: is a directory, not a model file", path);
    htri_t is = H5Fis_hdf5(path);
    if (is < 0)
        return h5_err(__LINE__, path, "cannot read");
    if (is == 0)
        return PF_ERR(PF_EPARSE,
                      "%s: not an HDF5 file (pocketflow models are HDF5 "
                      "files)",
                      path);
    if ((*f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return h5_err(__LINE__, path, "cannot open the HDF5 file (truncated or corrupt?)");
    return 0;
}

static int check_format(hid_t f, const char *path)
{
    char *fmt = NULL;
    long long version = 0;
    int rc = read_str_attr(f, "format", path, &fmt);
    if (rc < 0)
        return rc;
    if (!fmt)
        return PF_ERR(PF_EPARSE,
                      "%s: not a pocketflow model: no root attribute 'format' "
                      "(expected format = \"%s\")",
                      path, PF_MODEL_FORMAT);
    if (strcmp(fmt, PF_MODEL_FORMAT) != 0) {
        rc = PF_ERR(PF_EPARSE,
                    "%s: not a pocketflow model: format is \"%.80s\", expected "
                    "\"%s\"",
                    path, fmt, PF_MODEL_FORMAT);
        free(fmt);
        return rc;
    }
    free(fmt);
    if ((rc = need_int(f, "version", path, &version)) < 0)
        return rc;
    if (version != PF_MODEL_VERSION)
        return PF_ERR(PF_EPARSE,
                      "%s: model format version %lld is not supported (this program "
                      "reads version %d; was it written by a newer pocketflow?)",
                      path, version, PF_MODEL_VERSION);
    return 0;
}

int pf_model_load(const char *path, struct pf_model **out, char *dataset, size_t dataset_len)
{
    struct pf_model *m = NULL;
    char *netdef = NULL, *ds = NULL, *ndname = NULL;
    hid_t f = H5I_INVALID_HID;
    long long classes = 0;
    *out = NULL;
    h5_enter();
    int rc = open_model_file(path, &f);
    if (rc < 0)
        goto out;
    if ((rc = check_format(f, path)) < 0 || (rc = need_str(f, "netdef", path, &netdef)) < 0 ||
        (rc = need_str(f, "dataset", path, &ds)) < 0 ||
        (rc = need_int(f, "classes", path, &classes)) < 0)
        goto out;
    size_t n = strlen(path) + sizeof ":netdef";
    if (!(ndname = pf_malloc(n))) {
        rc = -PF_ENOMEM;
        goto out;
    }
    snprintf(ndname, n, "%s:netdef", path);
    if ((rc = pf_model_from_yaml(netdef, strlen(netdef), ndname, &m)) < 0)
        goto out;
    if (classes != m->classes) {
        rc = PF_ERR(PF_EPARSE, "%s: the classes attribute is %lld but the netdef says %d", path,
                    classes, m->classes);
        goto out;
    }
    if ((rc = read_params(f, m, path)) < 0)
        goto out;
    if (dataset && dataset_len > 0)
        snprintf(dataset, dataset_len, "%s", ds);
    *out = m;
    m = NULL;
out:
    h5_close(&f);
    h5_leave();
    pf_model_free(m);
    free(ndname);
    free(ds);
    free(netdef);
    return rc;
}

/* ---- metadata ---- */

struct meta_ctx {
    struct pf_meta *meta;
    const char *file;
    int rc;
};

static herr_t meta_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    struct meta_ctx *c = data;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    char *s = NULL, num[64];
    (void)info;
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0) {
        c->rc = h5_err(__LINE__, c->file, "cannot read a /meta attribute");
        goto out;
    }
    H5T_class_t cls = H5Tget_class(t);
    h5_close(&t);
    h5_close(&a);
    if (cls == H5T_STRING) {
        if ((c->rc = read_str_attr(loc, name, c->file, &s)) == 0)
            c->rc = pf_meta_set(c->meta, name, s);
    } else if (cls == H5T_INTEGER) {
        long long v = 0;
        bool found = false;
        if ((c->rc = read_int_attr(loc, name, c->file, &v, &found)) == 0) {
            snprintf(num, sizeof num, "%lld", v);
            c->rc = pf_meta_set(c->meta, name, num);
        }
    } else if (cls == H5T_FLOAT) {
        double v = 0;
        if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) {
            c->rc = h5_err(__LINE__, c->file, "cannot read a /meta attribute");
            goto out;
        }
        snprintf(num, sizeof num, "%.17g", v);
        c->rc = pf_meta_set(c->meta, name, num);
    } else {
        c->rc = PF_ERR(PF_EPARSE, "%s: /meta attribute '%s' is %s; expected a string or number",
                       c->file, name, class_name(cls));
    }
out:
    free(s);
    h5_close(&t);
    h5_close(&a);
    return c->rc < 0 ? -1 : 0;
}

int pf_model_read_meta(const char *path, struct pf_meta *meta)
{
    hid_t f = H5I_INVALID_HID, g = H5I_INVALID_HID;
    h5_enter();
    int rc = open_model_file(path, &f);
    if (rc < 0 || (rc = check_format(f, path)) < 0)
        goto out;
    htri_t ex = H5Lexists(f, "/meta", H5P_DEFAULT);
    if (ex <= 0) {
        rc = ex < 0 ? h5_err(__LINE__, path, "cannot look up /meta") : 0;
        goto out;
    }
    if ((g = H5Gopen2(f, "/meta", H5P_DEFAULT)) < 0) {
        rc = h5_err(__LINE__, path, "cannot open /meta");
        goto out;
    }
    struct meta_ctx c = {.meta = meta, .file = path, .rc = 0};
    hsize_t idx = 0;
    herr_t it = H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, meta_attr_cb, &c);
    if (c.rc < 0)
        rc = c.rc;
    else if (it < 0)
        rc = h5_err(__LINE__, path, "cannot list /meta");
out:
    h5_close(&g);
    h5_close(&f);
    h5_leave();
    return rc;
}
