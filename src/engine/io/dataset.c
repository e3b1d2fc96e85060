/* dataset.c: IDX (Fashion-MNIST / MNIST) and CIFAR-10 binary readers, the synthetic test set,
 * the train / validation split and batch assembly with PocketFlow's preprocessing.
 *
 * Every file is read through zlib (gzopen reads gzipped and plain files alike) or stdio, and
 * every number in it is checked before use: a malformed dataset is a returned error naming the
 * file, never a crash. See dataset.h for the preprocessing order. */
#include "engine/io/dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define IDX_MAGIC_IMAGES   0x00000803u /* unsigned byte, 3 dimensions */
#define IDX_MAGIC_LABELS   0x00000801u /* unsigned byte, 1 dimension */
#define IDX_MAX_SIDE       4096
#define IDX_MAX_BYTES      (1ull << 32) /* refuse headers promising more than 4 GiB of pixels */
#define CIFAR_C            3
#define CIFAR_HW           32
#define CIFAR_RECORD       (1 + CIFAR_C * CIFAR_HW * CIFAR_HW)
#define CIFAR_TRAIN_FILES  5
#define SYN_CLASSES        10
#define SYN_DEFAULT_N      2000
#define SYN_MAX_SHIFT      2
#define SYN_NOISE          25.0 /* stddev of the pixel noise, in 0..255 units */

/* ---- small file helpers ---- */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int join(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= n)
        return PF_ERR(PF_EINVAL, "%s/%s: path too long", dir, name);
    return 0;
}

static int gz_open(const char *path, gzFile *out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PF_ERR(PF_EIO, "%s: cannot open: %s", path, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return PF_ERR(PF_ENOMEM, "%s: cannot open: out of memory in zlib", path);
    }
    gzbuffer(gz, 1u << 17);
    *out = gz;
    return 0;
}

/* Reads up to n bytes; *got is how many came. Fails only on a read or decompression error. */
static int gz_read_upto(gzFile gz, const char *path, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > (1u << 30))
            want = 1u << 30;
        int r = gzread(gz, (char *)buf + *got, (unsigned)want);
        if (r <= 0) {
            int zerr = Z_OK;
            const char *zmsg = gzerror(gz, &zerr);
            if (zerr == Z_ERRNO)
                return PF_ERR(PF_EIO, "%s: read error: %s", path, strerror(errno));
            /* Z_BUF_ERROR is zlib's "unexpected end of file": report it as truncation */
            if (zerr != Z_OK && zerr != Z_BUF_ERROR)
                return PF_ERR(PF_EPARSE, "%s: corrupt compressed data: %s", path, zmsg);
            break;
        }
        *got += (size_t)r;
    }
    return 0;
}

static int gz_read_exact(gzFile gz, const char *path, void *buf, size_t n, const char *what)
{
    size_t got = 0;
    int rc = gz_read_upto(gz, path, buf, n, &got);
    if (rc < 0)
        return rc;
    if (got < n)
        return PF_ERR(PF_EPARSE, "%s: truncated: the %s needs %zu bytes, the file ends after %zu",
                      path, what, n, got);
    return 0;
}

/* Fails if anything follows the data the header announced. */
static int gz_expect_eof(gzFile gz, const char *path, const char *what)
{
    unsigned char extra[64];
    size_t got = 0;
    int rc = gz_read_upto(gz, path, extra, sizeof extra, &got);
    if (rc < 0)
        return rc;
    if (got > 0)
        return PF_ERR(PF_EPARSE,
                      "%s: trailing bytes after the %s announced by the header "
                      "(the header's count is wrong or the file is corrupt)",
                      path, what);
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- IDX (Fashion-MNIST / MNIST) ---- */

/* Reads an IDX file of ndim unsigned-byte dimensions: dims[0] items of dims[1] * dims[2] bytes
 * (ndim 3) or 1 byte (ndim 1). *data is a new array the caller frees. */
static int idx_read(const char *path, uint32_t magic, int ndim, uint32_t dims[3], uint8_t **data)
{
    gzFile gz = NULL;
    uint8_t *buf = NULL;
    unsigned char hdr[16];
    *data = NULL;
    int rc = gz_open(path, &gz);
    if (rc < 0)
        return rc;
    rc = gz_read_exact(gz, path, hdr, 4 + 4 * (size_t)ndim, "IDX header");
    if (rc < 0)
        goto fail;
    uint32_t m = be32(hdr);
    if (m != magic) {
        rc = PF_ERR(PF_EPARSE, "%s: bad magic 0x%08x (expected 0x%08x: IDX unsigned-byte %s)", path,
                    m, magic, ndim == 3 ? "images" : "labels");
        goto fail;
    }
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
        uint32_t max = i == 0 ? (uint32_t)INT32_MAX : IDX_MAX_SIDE;
        if (dims[i] == 0 || dims[i] > max) {
            rc =
                PF_ERR(PF_EPARSE, "%s: dimension %d is %u (expected 1..%u)", path, i, dims[i], max);
            goto fail;
        }
        total *= dims[i];
        if (total > IDX_MAX_BYTES) {
            rc = PF_ERR(PF_EPARSE, "%s: header promises more than %llu bytes of data", path,
                        IDX_MAX_BYTES);
            goto fail;
        }
    }
    buf = pf_malloc(total);
    if (!buf) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    rc = gz_read_exact(gz, path, buf, total, ndim == 3 ? "images" : "labels");
    if (rc < 0)
        goto fail;
    rc = gz_expect_eof(gz, path, ndim == 3 ? "images" : "labels");
    if (rc < 0)
        goto fail;
    gzclose(gz);
    *data = buf;
    return 0;
fail:
    free(buf);
    gzclose(gz);
    return rc;
}

/* Finds <dir>/<stem>-<suffix>.gz, <dir>/<stem>-<suffix> or <dir>/<stem>.<suffix> (MNIST's
 * extracted spelling). If none exists, path holds the first candidate (for the error). */
static int idx_find(const char *dir, const char *stem, const char *suffix, char *path, size_t n)
{
    static const char *const fmts[] = {"%s/%s-%s.gz", "%s/%s-%s", "%s/%s.%s"};
    for (size_t i = 0; i < PF_ARRAY_LEN(fmts); i++) {
        int k = snprintf(path, n, fmts[i], dir, stem, suffix);
        if (k < 0 || (size_t)k >= n)
            return PF_ERR(PF_EINVAL, "%s: path too long", dir);
        if (is_file(path))
            return 0;
    }
    snprintf(path, n, fmts[0], dir, stem, suffix); /* open() reports it missing, with strerror */
    return 0;
}

static int load_idx(const char *dir, int split, struct pf_dataset *d)
{
    char ipath[1100], lpath[1100];
    uint32_t idims[3], ldims[3];
    const char *pre = split == PF_SPLIT_TRAIN ? "train" : "t10k";
    char istem[16], lstem[16];
    snprintf(istem, sizeof istem, "%s-images", pre);
    snprintf(lstem, sizeof lstem, "%s-labels", pre);
    int rc = idx_find(dir, istem, "idx3-ubyte", ipath, sizeof ipath);
    if (rc == 0)
        rc = idx_find(dir, lstem, "idx1-ubyte", lpath, sizeof lpath);
    if (rc == 0)
        rc = idx_read(ipath, IDX_MAGIC_IMAGES, 3, idims, &d->images);
    if (rc == 0)
        rc = idx_read(lpath, IDX_MAGIC_LABELS, 1, ldims, &d->labels);
    if (rc < 0)
        return rc;
    if (idims[0] != ldims[0])
        return PF_ERR(PF_EPARSE, "%s holds %u images but %s holds %u labels", ipath, idims[0],
                      lpath, ldims[0]);
    d->n = (int)idims[0];
    d->c = 1;
    d->h = (int)idims[1];
    d->w = (int)idims[2];
    d->classes = 10;
    d->norm = PF_NORM_PER_IMAGE;
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] >= d->classes)
            return PF_ERR(PF_EPARSE, "%s: label of item %d is %u, not below the %d classes", lpath,
                          i, d->labels[i], d->classes);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    return 0;
}

/* ---- CIFAR-10 binary ---- */

/* Appends the records of one CIFAR-10 batch file to d (images and labels grow). */
static int cifar_read(const char *path, struct pf_dataset *d)
{
    FILE *f = fopen(path, "rb");
    uint8_t *rec = NULL;
    int rc = 0;
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        rc = PF_ERR(PF_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size <= 0 || st.st_size % CIFAR_RECORD != 0) {
        rc = PF_ERR(PF_EPARSE,
                    "%s: size %lld is not a whole, non-zero number of %d-byte "
                    "CIFAR-10 records (1 label byte + 3x32x32 image)",
                    path, (long long)st.st_size, CIFAR_RECORD);
        goto fail;
    }
    long long add = st.st_size / CIFAR_RECORD;
    if (add > INT32_MAX - d->n) {
        rc = PF_ERR(PF_EPARSE, "%s: too many records", path);
        goto fail;
    }
    size_t img = (size_t)CIFAR_C * CIFAR_HW * CIFAR_HW;
    size_t total = (size_t)d->n + (size_t)add;
    uint8_t *ni = pf_realloc_array(d->images, total, img);
    if (!ni) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    d->images = ni;
    uint8_t *nl = pf_realloc_array(d->labels, total, 1);
    if (!nl) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    d->labels = nl;
    rec = pf_malloc(CIFAR_RECORD);
    if (!rec) {
        rc = -PF_ENOMEM;
        goto fail;
    }
    for (long long r = 0; r < add; r++) {
        if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD) {
            rc = PF_ERR(PF_EIO, "%s: read error at record %lld: %s", path, r,
                        ferror(f) ? strerror(errno) : "unexpected end of file");
            goto fail;
        }
        if (rec[0] >= d->classes) {
            rc = PF_ERR(PF_EPARSE, "%s: label of record %lld is %u, not below the %d classes", path,
                        r, rec[0], d->classes);
            goto fail;
        }
        d->labels[d->n] = rec[0];
        memcpy(d->images + (size_t)d->n * img, rec + 1, img);
        d->n++;
    }
    free(rec);
    fclose(f);
    return 0;
fail:
    free(rec);
    fclose(f);
    return rc;
}

static int load_cifar(const char *dir_in, int split, struct pf_dataset *d)
{
    static const float mean[CIFAR_C] = {125.3f, 123.0f, 113.9f}; /* PocketFlow's IMAGE_AVE */
    static const float std[CIFAR_C] = {63.0f, 62.1f, 66.7f};     /* PocketFlow's IMAGE_STD */
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%.1000s", dir_in);
    /* the official archive extracts into cifar-10-batches-bin/ */
    int rc = join(path, sizeof path, dir, "test_batch.bin");
    if (rc < 0)
        return rc;
    if (!is_file(path)) {
        rc = join(path, sizeof path, dir, "cifar-10-batches-bin");
        if (rc < 0)
            return rc;
        if (is_dir(path))
            snprintf(dir, sizeof dir, "%.1099s", path);
    }
    d->c = CIFAR_C;
    d->h = d->w = CIFAR_HW;
    d->classes = 10;
    d->norm = PF_NORM_PER_CHANNEL;
    for (int c = 0; c < CIFAR_C; c++) {
        d->ch_mean[c] = mean[c];
        d->ch_std[c] = std[c];
    }
    int nfiles = split == PF_SPLIT_TRAIN ? CIFAR_TRAIN_FILES : 1;
    for (int i = 0; i < nfiles; i++) {
        char name[32];
        if (split == PF_SPLIT_TRAIN)
            snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        rc = join(path, sizeof path, dir, name);
        if (rc == 0)
            rc = cifar_read(path, d);
        if (rc < 0)
            return rc;
    }
    snprintf(d->dir, sizeof d->dir, "%.1023s", dir);
    return 0;
}

/* ---- synthetic ---- */

/* Parses "CxHxW[:N]" (NULL or "" = defaults). */
static int synthetic_parse(const char *arg, int *c, int *h, int *w, int *n)
{
    *c = 1;
    *h = *w = 28;
    *n = SYN_DEFAULT_N;
    if (!arg || !*arg)
        return 0;
    int used = 0;
    if (sscanf(arg, "%dx%dx%d%n", c, h, w, &used) != 3)
        goto bad;
    if (arg[used] == ':') {
        int used2 = 0;
        if (sscanf(arg + used + 1, "%d%n", n, &used2) != 1)
            goto bad;
        used += 1 + used2;
    }
    if (arg[used] != 0)
        goto bad;
    if (*c < 1 || *c > 4 || *h < 4 || *h > 256 || *w < 4 || *w > 256 || *n < 10 || *n > 1000000)
        return PF_ERR(PF_EINVAL,
                      "synthetic:%s: out of range (C 1..4, H and W 4..256, "
                      "N 10..1000000)",
                      arg);
    return 0;
bad:
    return PF_ERR(PF_EINVAL,
                  "synthetic:%s: expected synthetic[:CxHxW[:N]], e.g. "
                  "synthetic:1x28x28:2000",
                  arg);
}

/* Class k's pattern: two Gaussian blobs whose place, size and per-channel brightness come from
 * a stream seeded by k alone, so train and test share the patterns. */
static void synthetic_pattern(int k, int C, int H, int W, float *t /* (C, H, W) */)
{
    struct pf_rng r;
    pf_rng_seed(&r, 0x5eed0000ull + (uint64_t)k);
    memset(t, 0, sizeof *t * (size_t)C * H * W);
    for (int b = 0; b < 2; b++) {
        float cy = H * (0.2f + 0.6f * pf_rng_uniform(&r));
        float cx = W * (0.2f + 0.6f * pf_rng_uniform(&r));
        float sg = (H < W ? H : W) / 8.0f * (0.7f + 0.6f * pf_rng_uniform(&r));
        for (int c = 0; c < C; c++) {
            float amp = 120.0f + 100.0f * pf_rng_uniform(&r);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
                    t[((size_t)c * H + y) * W + x] += amp * expf(-d2 / (2 * sg * sg));
                }
        }
    }
}

static int load_synthetic(const char *arg, int split, struct pf_dataset *d)
{
    int C, H, W, N;
    float *pat = NULL;
    int rc = synthetic_parse(arg, &C, &H, &W, &N);
    if (rc < 0)
        return rc;
    d->c = C;
    d->h = H;
    d->w = W;
    d->classes = SYN_CLASSES;
    d->norm = PF_NORM_PER_IMAGE;
    d->n = split == PF_SPLIT_TRAIN ? N : (N / 4 < 10 ? 10 : N / 4);
    size_t img = (size_t)C * H * W;
    pat = pf_malloc(sizeof *pat * img * SYN_CLASSES);
    d->images = pf_malloc(img * (size_t)d->n);
    d->labels = pf_malloc((size_t)d->n);
    if (!pat || !d->images || !d->labels) {
        free(pat);
        return -PF_ENOMEM;
    }
    for (int k = 0; k < SYN_CLASSES; k++)
        synthetic_pattern(k, C, H, W, pat + (size_t)k * img);
    struct pf_rng r;
    pf_rng_seed(&r, split == PF_SPLIT_TRAIN ? 1001 : 2002);
    for (int i = 0; i < d->n; i++) {
        int k = i % SYN_CLASSES;
        int dy = (int)pf_rng_below(&r, 2 * SYN_MAX_SHIFT + 1) - SYN_MAX_SHIFT;
        int dx = (int)pf_rng_below(&r, 2 * SYN_MAX_SHIFT + 1) - SYN_MAX_SHIFT;
        const float *t = pat + (size_t)k * img;
        uint8_t *o = d->images + (size_t)i * img;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int sy = y - dy, sx = x - dx;
                    float v = 20.0f;
                    if (sy >= 0 && sy < H && sx >= 0 && sx < W)
                        v += t[((size_t)c * H + sy) * W + sx];
                    v += (float)SYN_NOISE * pf_rng_normal(&r);
                    v = v < 0 ? 0 : v > 255 ? 255 : v;
                    o[((size_t)c * H + y) * W + x] = (uint8_t)lrintf(v);
                }
        d->labels[i] = (uint8_t)k;
    }
    free(pat);
    return 0;
}

/* ---- public ---- */

static bool has_cifar(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof p, "%.1000s/test_batch.bin", dir);
    if (is_file(p))
        return true;
    snprintf(p, sizeof p, "%.1000s/cifar-10-batches-bin/test_batch.bin", dir);
    return is_file(p);
}

static bool kind_is(const char *spec, size_t len, const char *kind)
{
    return len == strlen(kind) && strncmp(spec, kind, len) == 0;
}

static bool has_idx(const char *dir)
{
    char p[1100];
    return (idx_find(dir, "t10k-images", "idx3-ubyte", p, sizeof p) == 0 && is_file(p)) ||
           (idx_find(dir, "train-images", "idx3-ubyte", p, sizeof p) == 0 && is_file(p));
}

int pf_dataset_load(const char *spec, int split, struct pf_dataset **out)
{
    struct pf_dataset *d = NULL;
    int rc;
    *out = NULL;
    if (!spec || !*spec)
        return PF_ERR(PF_EINVAL, "no dataset given");
    if (split != PF_SPLIT_TRAIN && split != PF_SPLIT_TEST)
        return PF_ERR(PF_EINVAL, "%s: bad split %d", spec, split);
    d = pf_calloc(1, sizeof *d);
    if (!d)
        return -PF_ENOMEM;
    const char *colon = strchr(spec, ':');
    size_t kind_len = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    if (kind_is(spec, kind_len, "fmnist")) {
        const char *env = getenv("PF_FMNIST_DIR");
        const char *dir = arg && *arg ? arg : env && *env ? env : FMNIST_DEFAULT_DIR;
        snprintf(d->name, sizeof d->name, "fmnist");
        rc = load_idx(dir, split, d);
    } else if (kind_is(spec, kind_len, "mnist") && arg && *arg) {
        snprintf(d->name, sizeof d->name, "mnist");
        rc = load_idx(arg, split, d);
    } else if (kind_is(spec, kind_len, "cifar10") && arg && *arg) {
        snprintf(d->name, sizeof d->name, "cifar10");
        rc = load_cifar(arg, split, d);
    } else if (kind_is(spec, kind_len, "synthetic")) {
        snprintf(d->name, sizeof d->name, "synthetic");
        rc = load_synthetic(arg, split, d);
    } else if (is_dir(spec) && has_idx(spec)) {
        snprintf(d->name, sizeof d->name, "mnist");
        rc = load_idx(spec, split, d);
    } else if (is_dir(spec) && has_cifar(spec)) {
        snprintf(d->name, sizeof d->name, "cifar10");
        rc = load_cifar(spec, split, d);
    } else if (is_dir(spec)) {
        rc = PF_ERR(PF_EIO,
                    "%s: no dataset found in this directory (expected IDX files such "
                    "as t10k-images-idx3-ubyte.gz, or CIFAR-10's test_batch.bin)",
                    spec);
    } else {
        rc = PF_ERR(PF_EINVAL,
                    "unknown dataset '%s' (expected fmnist, fmnist:<dir>, "
                    "mnist:<dir>, cifar10:<dir>, synthetic[:CxHxW[:N]] or a directory)",
                    spec);
    }
    if (rc < 0) {
        pf_dataset_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void pf_dataset_free(struct pf_dataset *d)
{
    if (!d)
        return;
    free(d->labels);
    free(d->images);
    free(d);
}

int pf_dataset_split(const struct pf_dataset *train, int n_val, uint32_t **train_idx,
                     uint32_t *n_train, uint32_t **val_idx, uint32_t *n_val_out)
{
    uint32_t *t = NULL, *v = NULL;
    *train_idx = NULL;
    *val_idx = NULL;
    *n_train = 0;
    *n_val_out = 0;
    if (n_val < 0 || n_val >= train->n)
        return PF_ERR(PF_EINVAL,
                      "%s: validation size %d must be in 0..%d (the set has %d "
                      "images)",
                      train->name, n_val, train->n - 1, train->n);
    uint32_t nt = (uint32_t)(train->n - n_val);
    t = pf_malloc(sizeof *t * nt);
    if (!t)
        return -PF_ENOMEM;
    if (n_val > 0) {
        v = pf_malloc(sizeof *v * (size_t)n_val);
        if (!v) {
            free(t);
            return -PF_ENOMEM;
        }
    }
    for (uint32_t i = 0; i < (uint32_t)n_val; i++)
        v[i] = i;
    for (uint32_t i = 0; i < nt; i++)
        t[i] = (uint32_t)n_val + i;
    *train_idx = t;
    *n_train = nt;
    *val_idx = v;
    *n_val_out = (uint32_t)n_val;
    return 0;
}

/* lut[v] = normalised value of raw pixel v for per-image standardisation of src[0..n). */
static void standardize_lut(const uint8_t *src, size_t n, float lut[256])
{
    /* exact integer sums: the variance needs no second pass */
    uint64_t s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += src[i];
        s2 += (uint64_t)src[i] * src[i];
    }
    double mean = (double)s / (double)n;
    double var = (double)s2 / (double)n - mean * mean;
    double sd = sqrt(var > 0 ? var : 0);
    double floor_sd = 1.0 / sqrt((double)n); /* TF's min stddev: a constant image maps to 0 */
    double adj = sd > floor_sd ? sd : floor_sd;
    for (int v = 0; v < 256; v++)
        lut[v] = (float)((v - mean) / adj);
}

void pf_dataset_standardize(const uint8_t *src, size_t n, float *dst)
{
    float lut[256];
    standardize_lut(src, n, lut);
    for (size_t i = 0; i < n; i++)
        dst[i] = lut[src[i]];
}

int pf_dataset_batch(const struct pf_dataset *d, const uint32_t *idx, int n, float *x, int *y,
                     bool augment, struct pf_rng *rng)
{
    const int C = d->c, H = d->h, W = d->w, P = PF_DATASET_PAD;
    size_t img = (size_t)C * H * W;
    if (n < 0)
        return PF_ERR(PF_EINVAL, "%s: negative batch size %d", d->name, n);
    if (augment && !rng)
        return PF_ERR(PF_EINVAL, "%s: augmentation needs a random stream", d->name);
    if (d->norm == PF_NORM_PER_CHANNEL && C > PF_DATASET_MAX_NORM_C)
        return PF_ERR(PF_EINVAL, "%s: per-channel normalisation of %d channels", d->name, C);
    float lut[PF_DATASET_MAX_NORM_C][256];
    if (d->norm == PF_NORM_PER_CHANNEL)
        for (int c = 0; c < C; c++)
            for (int v = 0; v < 256; v++)
                lut[c][v] = (v - d->ch_mean[c]) / d->ch_std[c];
    for (int i = 0; i < n; i++) {
        if (idx[i] >= (uint32_t)d->n)
            return PF_ERR(PF_EINVAL, "%s: index %u out of range (%d images)", d->name, idx[i],
                          d->n);
        const uint8_t *src = d->images + (size_t)idx[i] * img;
        float *dst = x + (size_t)i * img;
        if (y)
            y[i] = d->labels[idx[i]];
        if (d->norm == PF_NORM_PER_IMAGE)
            standardize_lut(src, img, lut[0]);
        int oy = P, ox = P, flip = 0; /* offsets into the padded image; P, P = no shift */
        if (augment) {
            oy = (int)pf_rng_below(rng, 2 * P + 1);
            ox = (int)pf_rng_below(rng, 2 * P + 1);
            flip = (int)pf_rng_below(rng, 2);
        }
        for (int c = 0; c < C; c++) {
            const float *l = lut[d->norm == PF_NORM_PER_CHANNEL ? c : 0];
            for (int r = 0; r < H; r++) {
                int sr = r + oy - P;
                float *o = dst + ((size_t)c * H + r) * W;
                if (sr < 0 || sr >= H) {
                    memset(o, 0, sizeof *o * (size_t)W); /* padding: 0 after normalisation */
                    continue;
                }
                const uint8_t *s = src + ((size_t)c * H + sr) * W;
                for (int q = 0; q < W; q++) {
                    /* the flip mirrors the cropped image, so it acts before the crop offset */
                    int sc = (flip ? W - 1 - q : q) + ox - P;
                    o[q] = sc >= 0 && sc < W ? l[s[sc]] : 0.0f;
                }
            }
        }
    }
    return 0;
}
