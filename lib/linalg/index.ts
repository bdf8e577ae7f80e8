/** Exact linear algebra in Float64 for PCA and feature statistics. */
export { symmetricEigen } from "./symmetric-eigen";
export { meanAndCovariance } from "./covariance";
