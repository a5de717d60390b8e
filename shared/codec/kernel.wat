;; The Reed-Solomon kernel: a fused multi-output dot product over GF(2^8) in WebAssembly SIMD.
;;
;; Multiplying a byte by a constant c is split by nibbles: c*x = lo_c[x & 15] ^ hi_c[x >> 4],
;; two 16-entry tables (32 bytes per coefficient) looked up sixteen bytes at a time with a byte
;; shuffle. Each turn loads 32 bytes of every input once, splits them into nibbles once (high
;; nibbles by i16x8.shr_u then and, as WebAssembly has no 8-bit vector shift), and keeps one
;; pair of accumulators per output in registers, so inputs are read once for up to four
;; outputs. dot1..dot4 differ only in how many outputs they carry; more outputs are done in
;; groups of four.
;;
;; SWIZZLE stands for i8x16.relaxed_swizzle or i8x16.swizzle: infra/build-wasm.ts assembles one
;; module of each, and the codec loads the relaxed one where WebAssembly.validate accepts it.
;; Indices here are always 0..15, where both instructions agree.
;;
;; Memory is the caller's: table, input-pointer and output-pointer arrays, and the shards.
;; `len` must be a multiple of 32; the caller computes the tail.
(module
  (memory (export "memory") 1)
  ;; outputs[j] = XOR over i of tables[i][j] (x) inputs[i], for j < 1, 32 bytes per turn.
  (func $dot1 (export "dot1") (param $tab i32) (param $ins i32) (param $outs i32) (param $nin i32) (param $len i32)
    (local $off i32) (local $i i32) (local $p i32) (local $t i32)
    (local $mask v128) (local $x v128) (local $y v128) (local $xl v128) (local $xh v128) (local $yl v128) (local $yh v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $b0 v128)
    (local.set $mask (i8x16.splat (i32.const 15)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $b0 (v128.const i64x2 0 0))
        (local.set $i (i32.const 0))
        (local.set $t (local.get $tab))
        (block $inputs_done
          (loop $inputs
            (br_if $inputs_done (i32.ge_u (local.get $i) (local.get $nin)))
            ;; each input vector is loaded once and split into nibbles once, for all outputs
            (local.set $p (i32.add (i32.load (i32.add (local.get $ins) (i32.shl (local.get $i) (i32.const 2)))) (local.get $off)))
            (local.set $x (v128.load (local.get $p)))
            (local.set $y (v128.load offset=16 (local.get $p)))
            (local.set $xl (v128.and (local.get $x) (local.get $mask)))
            (local.set $xh (v128.and (i16x8.shr_u (local.get $x) (i32.const 4)) (local.get $mask)))
            (local.set $yl (v128.and (local.get $y) (local.get $mask)))
            (local.set $yh (v128.and (i16x8.shr_u (local.get $y) (i32.const 4)) (local.get $mask)))
            (local.set $lo (v128.load offset=0 (local.get $t)))
            (local.set $hi (v128.load offset=16 (local.get $t)))
            (local.set $a0 (v128.xor (local.get $a0) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b0 (v128.xor (local.get $b0) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $t (i32.add (local.get $t) (i32.const 32)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $inputs)))
        (local.set $p (i32.add (i32.load offset=0 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $bytes))))

  ;; outputs[j] = XOR over i of tables[i][j] (x) inputs[i], for j < 2, 32 bytes per turn.
  (func $dot2 (export "dot2") (param $tab i32) (param $ins i32) (param $outs i32) (param $nin i32) (param $len i32)
    (local $off i32) (local $i i32) (local $p i32) (local $t i32)
    (local $mask v128) (local $x v128) (local $y v128) (local $xl v128) (local $xh v128) (local $yl v128) (local $yh v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $b0 v128) (local $a1 v128) (local $b1 v128)
    (local.set $mask (i8x16.splat (i32.const 15)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $i (i32.const 0))
        (local.set $t (local.get $tab))
        (block $inputs_done
          (loop $inputs
            (br_if $inputs_done (i32.ge_u (local.get $i) (local.get $nin)))
            ;; each input vector is loaded once and split into nibbles once, for all outputs
            (local.set $p (i32.add (i32.load (i32.add (local.get $ins) (i32.shl (local.get $i) (i32.const 2)))) (local.get $off)))
            (local.set $x (v128.load (local.get $p)))
            (local.set $y (v128.load offset=16 (local.get $p)))
            (local.set $xl (v128.and (local.get $x) (local.get $mask)))
            (local.set $xh (v128.and (i16x8.shr_u (local.get $x) (i32.const 4)) (local.get $mask)))
            (local.set $yl (v128.and (local.get $y) (local.get $mask)))
            (local.set $yh (v128.and (i16x8.shr_u (local.get $y) (i32.const 4)) (local.get $mask)))
            (local.set $lo (v128.load offset=0 (local.get $t)))
            (local.set $hi (v128.load offset=16 (local.get $t)))
            (local.set $a0 (v128.xor (local.get $a0) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b0 (v128.xor (local.get $b0) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $lo (v128.load offset=32 (local.get $t)))
            (local.set $hi (v128.load offset=48 (local.get $t)))
            (local.set $a1 (v128.xor (local.get $a1) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b1 (v128.xor (local.get $b1) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $t (i32.add (local.get $t) (i32.const 64)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $inputs)))
        (local.set $p (i32.add (i32.load offset=0 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $p (i32.add (i32.load offset=4 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a1))
        (v128.store offset=16 (local.get $p) (local.get $b1))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $bytes))))

  ;; outputs[j] = XOR over i of tables[i][j] (x) inputs[i], for j < 3, 32 bytes per turn.
  (func $dot3 (export "dot3") (param $tab i32) (param $ins i32) (param $outs i32) (param $nin i32) (param $len i32)
    (local $off i32) (local $i i32) (local $p i32) (local $t i32)
    (local $mask v128) (local $x v128) (local $y v128) (local $xl v128) (local $xh v128) (local $yl v128) (local $yh v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $b0 v128) (local $a1 v128) (local $b1 v128) (local $a2 v128) (local $b2 v128)
    (local.set $mask (i8x16.splat (i32.const 15)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0)) (local.set $b2 (v128.const i64x2 0 0))
        (local.set $i (i32.const 0))
        (local.set $t (local.get $tab))
        (block $inputs_done
          (loop $inputs
            (br_if $inputs_done (i32.ge_u (local.get $i) (local.get $nin)))
            ;; each input vector is loaded once and split into nibbles once, for all outputs
            (local.set $p (i32.add (i32.load (i32.add (local.get $ins) (i32.shl (local.get $i) (i32.const 2)))) (local.get $off)))
            (local.set $x (v128.load (local.get $p)))
            (local.set $y (v128.load offset=16 (local.get $p)))
            (local.set $xl (v128.and (local.get $x) (local.get $mask)))
            (local.set $xh (v128.and (i16x8.shr_u (local.get $x) (i32.const 4)) (local.get $mask)))
            (local.set $yl (v128.and (local.get $y) (local.get $mask)))
            (local.set $yh (v128.and (i16x8.shr_u (local.get $y) (i32.const 4)) (local.get $mask)))
            (local.set $lo (v128.load offset=0 (local.get $t)))
            (local.set $hi (v128.load offset=16 (local.get $t)))
            (local.set $a0 (v128.xor (local.get $a0) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b0 (v128.xor (local.get $b0) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $lo (v128.load offset=32 (local.get $t)))
            (local.set $hi (v128.load offset=48 (local.get $t)))
            (local.set $a1 (v128.xor (local.get $a1) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b1 (v128.xor (local.get $b1) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $lo (v128.load offset=64 (local.get $t)))
            (local.set $hi (v128.load offset=80 (local.get $t)))
            (local.set $a2 (v128.xor (local.get $a2) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b2 (v128.xor (local.get $b2) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $t (i32.add (local.get $t) (i32.const 96)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $inputs)))
        (local.set $p (i32.add (i32.load offset=0 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $p (i32.add (i32.load offset=4 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a1))
        (v128.store offset=16 (local.get $p) (local.get $b1))
        (local.set $p (i32.add (i32.load offset=8 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a2))
        (v128.store offset=16 (local.get $p) (local.get $b2))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $bytes))))

  ;; outputs[j] = XOR over i of tables[i][j] (x) inputs[i], for j < 4, 32 bytes per turn.
  (func $dot4 (export "dot4") (param $tab i32) (param $ins i32) (param $outs i32) (param $nin i32) (param $len i32)
    (local $off i32) (local $i i32) (local $p i32) (local $t i32)
    (local $mask v128) (local $x v128) (local $y v128) (local $xl v128) (local $xh v128) (local $yl v128) (local $yh v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $b0 v128) (local $a1 v128) (local $b1 v128) (local $a2 v128) (local $b2 v128) (local $a3 v128) (local $b3 v128)
    (local.set $mask (i8x16.splat (i32.const 15)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0)) (local.set $b2 (v128.const i64x2 0 0))
        (local.set $a3 (v128.const i64x2 0 0)) (local.set $b3 (v128.const i64x2 0 0))
        (local.set $i (i32.const 0))
        (local.set $t (local.get $tab))
        (block $inputs_done
          (loop $inputs
            (br_if $inputs_done (i32.ge_u (local.get $i) (local.get $nin)))
            ;; each input vector is loaded once and split into nibbles once, for all outputs
            (local.set $p (i32.add (i32.load (i32.add (local.get $ins) (i32.shl (local.get $i) (i32.const 2)))) (local.get $off)))
            (local.set $x (v128.load (local.get $p)))
            (local.set $y (v128.load offset=16 (local.get $p)))
            (local.set $xl (v128.and (local.get $x) (local.get $mask)))
            (local.set $xh (v128.and (i16x8.shr_u (local.get $x) (i32.const 4)) (local.get $mask)))
            (local.set $yl (v128.and (local.get $y) (local.get $mask)))
            (local.set $yh (v128.and (i16x8.shr_u (local.get $y) (i32.const 4)) (local.get $mask)))
            (local.set $lo (v128.load offset=0 (local.get $t)))
            (local.set $hi (v128.load offset=16 (local.get $t)))
            (local.set $a0 (v128.xor (local.get $a0) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b0 (v128.xor (local.get $b0) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $lo (v128.load offset=32 (local.get $t)))
            (local.set $hi (v128.load offset=48 (local.get $t)))
            (local.set $a1 (v128.xor (local.get $a1) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b1 (v128.xor (local.get $b1) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $lo (v128.load offset=64 (local.get $t)))
            (local.set $hi (v128.load offset=80 (local.get $t)))
            (local.set $a2 (v128.xor (local.get $a2) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b2 (v128.xor (local.get $b2) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $lo (v128.load offset=96 (local.get $t)))
            (local.set $hi (v128.load offset=112 (local.get $t)))
            (local.set $a3 (v128.xor (local.get $a3) (v128.xor (SWIZZLE (local.get $lo) (local.get $xl)) (SWIZZLE (local.get $hi) (local.get $xh)))))
            (local.set $b3 (v128.xor (local.get $b3) (v128.xor (SWIZZLE (local.get $lo) (local.get $yl)) (SWIZZLE (local.get $hi) (local.get $yh)))))
            (local.set $t (i32.add (local.get $t) (i32.const 128)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $inputs)))
        (local.set $p (i32.add (i32.load offset=0 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $p (i32.add (i32.load offset=4 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a1))
        (v128.store offset=16 (local.get $p) (local.get $b1))
        (local.set $p (i32.add (i32.load offset=8 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a2))
        (v128.store offset=16 (local.get $p) (local.get $b2))
        (local.set $p (i32.add (i32.load offset=12 (local.get $outs)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a3))
        (v128.store offset=16 (local.get $p) (local.get $b3))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $bytes)))))
