//===- Target.cpp - parse "sm_XY[a]" into a target description ------------===//
#include "tessera/Target/Target.h"

namespace tessera {

std::optional<Target> Target::parse(std::string_view text) {
  if (text.size() < 5 || text.substr(0, 3) != "sm_")
    return std::nullopt;
  Target t;
  t.name = std::string(text);
  std::string_view digits = text.substr(3);
  if (digits.back() == 'a') {
    t.archSpecific = true;
    digits.remove_suffix(1);
  }
  if (digits.size() < 2)
    return std::nullopt;
  for (char c : digits)
    if (c < '0' || c > '9')
      return std::nullopt;
  t.minor = digits.back() - '0';
  t.major = 0;
  for (char c : digits.substr(0, digits.size() - 1))
    t.major = t.major * 10 + (c - '0');

  if (t.major == 9)
    t.maxSharedBytesPerBlock = 227 * 1024;
  else if (t.major == 8)
    t.maxSharedBytesPerBlock = (t.minor == 0 || t.minor == 7) ? 163 * 1024 : 99 * 1024;
  bool hopperA = t.major == 9 && t.archSpecific;
  t.hasWgmma = t.hasSetmaxnreg = t.hasTma = hopperA;
  t.hasVectorRed = t.major >= 9;
  return t;
}

Target Target::forDevice(int major, int minor) {
  std::string name = "sm_" + std::to_string(major) + std::to_string(minor);
  if (major == 9 && minor == 0)
    name += "a";
  return *parse(name);
}

} // namespace tessera
