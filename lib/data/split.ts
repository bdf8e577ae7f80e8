/** The two parts of a data set. */
export type Split = "train" | "test";
