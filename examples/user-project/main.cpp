// A program outside Tessera's tree that JIT-compiles its own DSL kernel
// (kernels.cpp) and checks it against float64 arithmetic.  With
// TESSERA_INTERPRET=1 it runs in Tessera's CPU interpreter (no GPU needed).
#include "rms_norm_check.h"

#include "tessera/jit/Jit.h"
#include "tessera/kernels/Library.h"
#include "tessera/rt/Runtime.h"

#include <cstdio>

int main() {
  using namespace tessera;
  std::vector<float> x, w;
  makeInputs(x, w);
  try {
    jit::Jit jit;
    auto kernel = jit.get(kernels::findKernel("user_rms_norm"), {{"BLOCK", "1024"}});
    rt::Buffer bx(x.size() * 4, "f32"), bw(w.size() * 4, "f32"), by(x.size() * 4, "f32");
    bx.upload(x);
    bw.upload(w);
    kernel->launch({unsigned(kRows)}, {bx, bw, by, kCols, kEps});
    double err = rmsNormError(x, w, by.download<float>(x.size()));
    std::printf("user_rms_norm %dx%d (JIT%s): max rel. error %.2e: %s\n", kRows, kCols,
                rt::interpretMode() ? ", interpreter" : "", err, err < 1e-5 ? "ok" : "FAIL");
    return err < 1e-5 ? 0 : 1;
  } catch (const rt::DriverError &e) { // no GPU and no TESSERA_INTERPRET=1
    std::printf("no GPU here: %s\n", e.what());
    return e.kind == rt::DriverError::Kind::Call ? 1 : 77;
  } catch (const Error &e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
