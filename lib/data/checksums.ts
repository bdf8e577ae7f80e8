/**
 * The published checksums of the MNIST and Fashion-MNIST files, and how to check them.
 *
 * Each file has two: the digest of the published .gz (what a download is checked
 * against before it is kept) and the SHA-256 of the decompressed IDX bytes (what any
 * local copy is checked against, whether gzip or raw: Debian's dataset-fashion-mnist,
 * for one, re-packs the .gz with a different header but the same content).
 */
import * as crypto from "node:crypto";
import type { DatasetName } from "../settings";
import { DataError } from "./data-error";

/** The four file stems of an MNIST-style dataset (without .gz). */
export type FileStem =
  | "train-images-idx3-ubyte"
  | "train-labels-idx1-ubyte"
  | "t10k-images-idx3-ubyte"
  | "t10k-labels-idx1-ubyte";

export type DigestAlgorithm = "sha256" | "md5";

/** A digest to check bytes against. */
export interface Checksum {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

/** The checksums of one published file. */
export interface FileChecksums {
  /** Digest of the published .gz file (MNIST: SHA-256; Fashion-MNIST: the official MD5). */
  readonly gz: Checksum;
  /** SHA-256 of the decompressed IDX content. */
  readonly raw: Checksum;
}

const sha256 = (hex: string): Checksum => ({ algorithm: "sha256", hex });
const md5 = (hex: string): Checksum => ({ algorithm: "md5", hex });

/**
 * MNIST: SHA-256 of the four original .gz files and of their content (as in the
 * project's SHA256SUMS; the canonical md5 of the .gz files are f68b3c2d..., d53e105e...,
 * 9fb629c4..., ec29112d...).
 */
export const MNIST_CHECKSUMS: Readonly<Record<FileStem, FileChecksums>> = {
  "train-images-idx3-ubyte": {
    gz: sha256("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    raw: sha256("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
  },
  "train-labels-idx1-ubyte": {
    gz: sha256("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    raw: sha256("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
  },
  "t10k-images-idx3-ubyte": {
    gz: sha256("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    raw: sha256("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
  },
  "t10k-labels-idx1-ubyte": {
    gz: sha256("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    raw: sha256("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
  },
};

/**
 * Fashion-MNIST: the MD5 of the .gz files published in github.com/zalandoresearch/fashion-mnist
 * (README, "Get the Data"), and the SHA-256 of their content (computed from Debian's
 * dataset-fashion-mnist 0.0~git20200523, whose decompressed files also match the raw MD5
 * f4a8712d..., 9018921c..., 8181f547..., 15d48437... that torchvision-style loaders list).
 */
const FASHION_MNIST_CHECKSUMS: Readonly<Record<FileStem, FileChecksums>> = {
  "train-images-idx3-ubyte": {
    gz: md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    raw: sha256("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
  },
  "train-labels-idx1-ubyte": {
    gz: md5("25c81989df183df01b3e8a0aad5dffbe"),
    raw: sha256("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
  },
  "t10k-images-idx3-ubyte": {
    gz: md5("bef4ecab320f06d8554ea6380940ec79"),
    raw: sha256("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
  },
  "t10k-labels-idx1-ubyte": {
    gz: md5("bb300cfdad3c16e7a12a480ee83cd310"),
    raw: sha256("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
  },
};

/** The checksum table of a dataset. */
export function checksumsFor(name: DatasetName): Readonly<Record<FileStem, FileChecksums>> {
  return name === "mnist" ? MNIST_CHECKSUMS : FASHION_MNIST_CHECKSUMS;
}

/** Hex digest of some bytes. */
export function digest(bytes: Uint8Array, algorithm: DigestAlgorithm): string {
  return crypto.createHash(algorithm).update(bytes).digest("hex");
}

/** Throws a DataError naming `file` unless the bytes have the expected digest. */
export function verifyChecksum(bytes: Uint8Array, expected: Checksum, file: string, fix: string): void {
  const actual = digest(bytes, expected.algorithm);
  if (actual !== expected.hex) {
    throw new DataError(
      file,
      `checksum mismatch: ${expected.algorithm} is ${actual}, expected ${expected.hex}; ${fix}`,
    );
  }
}
