"""The registry proxy npm talks to: packuments, verified tarballs, everything else passed on."""
