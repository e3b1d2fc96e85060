/* dataset.h: image classification datasets held in memory as uint8, and batch assembly.
 *
 * Sources: Fashion-MNIST / MNIST (IDX files, gzipped or plain, read through zlib), CIFAR-10
 * binary batches, and a small deterministic synthetic set for tests. Images stay uint8 (CHW per
 * image); pf_dataset_batch converts the images of one batch to float32 with PocketFlow's
 * preprocessing (datasets/cifar10_dataset.py, examples/fmnist_dataset.py):
 *   1. normalise: per-image standardisation (x - mean) / max(stddev, 1 / sqrt(C*H*W)), population
 *      stddev over the image's raw 0..255 values (Fashion-MNIST, MNIST, synthetic); CIFAR-10 uses
 *      PocketFlow's fixed per-channel mean (125.3, 123.0, 113.9) and std (63.0, 62.1, 66.7);
 *   2. only with augment: zero-pad 4 pixels on every side (zero in the normalised space, i.e.
 *      the mean), random H x W crop, random horizontal flip with p = 0.5.
 * PocketFlow normalises first and augments second; so does this module. */
#ifndef PF_ENGINE_IO_DATASET_H
#define PF_ENGINE_IO_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/core/pf_rng.h"

enum pf_split { PF_SPLIT_TRAIN = 0, PF_SPLIT_TEST = 1 };

enum pf_norm {
    PF_NORM_PER_IMAGE,   /* per-image standardisation (TF per_image_standardization) */
    PF_NORM_PER_CHANNEL, /* (x - ch_mean[c]) / ch_std[c] */
};

#define PF_DATASET_MAX_NORM_C 4 /* channels with their own per-channel mean / std */
#define PF_DATASET_PAD        4 /* augmentation padding on each side, PocketFlow's 28 -> 36 */

struct pf_dataset {
    char name[32];   /* kind: "fmnist", "mnist", "cifar10", "synthetic" (model files' `dataset`) */
    char dir[1024];  /* directory the files came from; "" for synthetic */
    int n;           /* number of images */
    int c, h, w;     /* per-image shape */
    int classes;     /* labels are in [0, classes) */
    uint8_t *images; /* (n, c, h, w) raw pixel values; owned */
    uint8_t *labels; /* (n); owned */
    enum pf_norm norm;                    /* how pf_dataset_batch normalises */
    float ch_mean[PF_DATASET_MAX_NORM_C]; /* PF_NORM_PER_CHANNEL only */
    float ch_std[PF_DATASET_MAX_NORM_C];
};

/* Loads one split of a dataset into memory. `spec` is one of:
 *   "fmnist"             Fashion-MNIST from /usr/share/datasets/fashion-mnist, or from the
 *                        directory in the environment variable PF_FMNIST_DIR when it is set;
 *   "fmnist:<dir>"       Fashion-MNIST from <dir>;
 *   "mnist:<dir>"        any IDX dataset in Fashion-MNIST's file names from <dir>:
 *                        {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (MNIST's
 *                        "train-images.idx3-ubyte" spelling is accepted too);
 *   "cifar10:<dir>"      CIFAR-10 binary: data_batch_1..5.bin (train) or test_batch.bin (test),
 *                        in <dir> or in <dir>/cifar-10-batches-bin; each record is 1 label byte
 *                        + 3072 bytes (3, 32, 32); a file may hold any whole number of records;
 *   "synthetic[:CxHxW[:N]]"  a deterministic learnable set, 10 classes: each class is a fixed
 *                        pattern of two bright blobs, each image its class pattern shifted by up
 *                        to 2 pixels plus Gaussian noise. Default 1x28x28; N train images
 *                        (default 2000), N / 4 test images; labels cycle 0..9;
 *   "<dir>"              a directory holding IDX files (loaded as "mnist") or CIFAR-10 batches.
 * split is PF_SPLIT_TRAIN or PF_SPLIT_TEST. Every file is validated (IDX magic 0x00000803 /
 * 0x00000801, dimensions, truncation, trailing bytes, image / label count agreement, labels <
 * classes); each error names the file and the problem.
 * On success *out is a new dataset the caller frees with pf_dataset_free. Returns 0, -PF_EIO
 * (missing or unreadable file), -PF_EPARSE (malformed file), -PF_EINVAL (bad spec or split) or
 * -PF_ENOMEM; *out is NULL on failure. */
int pf_dataset_load(const char *spec, int split, struct pf_dataset **out);

/* Frees the dataset and its arrays; NULL is a no-op. */
void pf_dataset_free(struct pf_dataset *d);

/* Splits a training set into training and validation indices, reproducibly: the validation set
 * is the FIRST n_val images in file order, the training set the remaining n - n_val, as
 * PocketFlow's FMnistDataset.build(enbl_trn_val_split) does (dataset.take(nb_smpls_val) before
 * any shuffle). 0 <= n_val < train->n. On success *train_idx holds *n_train indices and *val_idx
 * *n_val_out indices (NULL when n_val is 0), both ascending; the caller frees both with free().
 * Returns 0, -PF_EINVAL or -PF_ENOMEM (then both pointers are NULL). */
int pf_dataset_split(const struct pf_dataset *train, int n_val, uint32_t **train_idx,
                     uint32_t *n_train, uint32_t **val_idx, uint32_t *n_val_out);

/* Assembles a batch: images d[idx[0..n)] into x (n, c, h, w) float32 and their labels into y
 * (n; may be NULL), normalised as d->norm says and, when augment is true, padded, cropped and
 * flipped (see the top of this file). Each augmented image draws, in order, the crop row offset,
 * the crop column offset (each uniform in [0, 2 * PF_DATASET_PAD]) and the flip (p = 0.5) from
 * rng, so a batch is reproducible for a given rng state; rng is not used (may be NULL) when
 * augment is false. Borrows everything; x and y are caller-allocated.
 * Returns 0, or -PF_EINVAL for an index out of range, n < 0 or augment without an rng. */
int pf_dataset_batch(const struct pf_dataset *d, const uint32_t *idx, int n, float *x, int *y,
                     bool augment, struct pf_rng *rng);

/* Per-image standardisation of one image of n raw values: dst = (src - mean) /
 * max(stddev, 1 / sqrt(n)), population stddev (TensorFlow's tf.image.per_image_standardization).
 * n > 0. */
void pf_dataset_standardize(const uint8_t *src, size_t n, float *dst);

#endif
