// The same kernel compiled ahead of time (tessera_add_kernels ... PLUGIN
// kernels.cpp): this program links only Tessera::Runtime (no LLVM) and runs
// the embedded image on the GPU; without one it says so and exits 77.
#include "rms_norm_check.h"
#include "user_kernels.h"

#include <cstdio>

int main() {
  using namespace tessera;
  try {
    rt::openDevice();
  } catch (const rt::DriverError &e) {
    std::printf("no GPU here: %s\n", e.what());
    return e.kind == rt::DriverError::Kind::Call ? 1 : 77;
  }
  std::vector<float> x, w;
  makeInputs(x, w);
  rt::Buffer bx(x.size() * 4, "f32"), bw(w.size() * 4, "f32"), by(x.size() * 4, "f32");
  bx.upload(x);
  bw.upload(w);
  user_kernels::user_rms_norm({unsigned(kRows)}, bx, bw, by, kCols, kEps);
  double err = rmsNormError(x, w, by.download<float>(x.size()));
  std::printf("user_rms_norm %dx%d (AOT): max rel. error %.2e: %s\n", kRows, kCols, err,
              err < 1e-5 ? "ok" : "FAIL");
  return err < 1e-5 ? 0 : 1;
}
