//go:build amd64 && !purego

#include "textflag.h"

// BLOCK computes the masks of the 16 bytes at off(SI) into AX (dot
// between digits), BX (colon) and DX (newline).
#define BLOCK(off) \
	MOVOU off(SI), X0; \
	MOVOU off-1(SI), X1; \
	MOVOU off+1(SI), X2; \
	PADDB X11, X1; \
	MOVO X12, X3; \
	PCMPGTB X1, X3; \
	PADDB X11, X2; \
	MOVO X12, X4; \
	PCMPGTB X2, X4; \
	PAND X4, X3; \
	MOVO X0, X5; \
	PCMPEQB X8, X5; \
	PAND X5, X3; \
	PMOVMSKB X3, AX; \
	MOVO X0, X6; \
	PCMPEQB X9, X6; \
	PMOVMSKB X6, BX; \
	PCMPEQB X10, X0; \
	PMOVMSKB X0, DX

// func masksSSE2(p *byte, words int, dot4, colon, nl *uint64)
// Reads p[-1] through p[64*words].
TEXT ·masksSSE2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	MOVQ words+8(FP), CX
	MOVQ dot4+16(FP), R8
	MOVQ colon+24(FP), R9
	MOVQ nl+32(FP), R10

	MOVQ $0x2e2e2e2e2e2e2e2e, AX // '.'
	MOVQ AX, X8
	PUNPCKLQDQ X8, X8
	MOVQ $0x3a3a3a3a3a3a3a3a, AX // ':'
	MOVQ AX, X9
	PUNPCKLQDQ X9, X9
	MOVQ $0x0a0a0a0a0a0a0a0a, AX // '\n'
	MOVQ AX, X10
	PUNPCKLQDQ X10, X10
	MOVQ $0x5050505050505050, AX // 0x80-'0': a digit becomes 0x80..0x89
	MOVQ AX, X11
	PUNPCKLQDQ X11, X11
	MOVQ $0x8a8a8a8a8a8a8a8a, AX // int8 -118: digit iff -118 > x+0x50
	MOVQ AX, X12
	PUNPCKLQDQ X12, X12

loop:
	TESTQ CX, CX
	JZ done

	BLOCK(0)
	MOVQ AX, R11
	MOVQ BX, R12
	MOVQ DX, R13

	BLOCK(16)
	SHLQ $16, AX
	SHLQ $16, BX
	SHLQ $16, DX
	ORQ AX, R11
	ORQ BX, R12
	ORQ DX, R13

	BLOCK(32)
	SHLQ $32, AX
	SHLQ $32, BX
	SHLQ $32, DX
	ORQ AX, R11
	ORQ BX, R12
	ORQ DX, R13

	BLOCK(48)
	SHLQ $48, AX
	SHLQ $48, BX
	SHLQ $48, DX
	ORQ AX, R11
	ORQ BX, R12
	ORQ DX, R13

	MOVQ R11, (R8)
	MOVQ R12, (R9)
	MOVQ R13, (R10)
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $8, R10
	DECQ CX
	JMP loop

done:
	RET

// BLOCK32 computes the masks of the 32 bytes at off(SI) into AX (dot
// between digits), BX (colon) and DX (newline), with AVX2.
#define BLOCK32(off) \
	VMOVDQU off(SI), Y0; \
	VMOVDQU off-1(SI), Y1; \
	VMOVDQU off+1(SI), Y2; \
	VPADDB Y11, Y1, Y1; \
	VPCMPGTB Y1, Y12, Y3; \
	VPADDB Y11, Y2, Y2; \
	VPCMPGTB Y2, Y12, Y4; \
	VPAND Y4, Y3, Y3; \
	VPCMPEQB Y8, Y0, Y5; \
	VPAND Y5, Y3, Y3; \
	VPMOVMSKB Y3, AX; \
	VPCMPEQB Y9, Y0, Y6; \
	VPMOVMSKB Y6, BX; \
	VPCMPEQB Y10, Y0, Y7; \
	VPMOVMSKB Y7, DX

// func masksAVX2(p *byte, words int, dot4, colon, nl *uint64)
// Reads p[-1] through p[64*words].
TEXT ·masksAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	MOVQ words+8(FP), CX
	MOVQ dot4+16(FP), R8
	MOVQ colon+24(FP), R9
	MOVQ nl+32(FP), R10

	MOVQ $0x2e2e2e2e2e2e2e2e, AX // '.'
	MOVQ AX, X8
	VPBROADCASTQ X8, Y8
	MOVQ $0x3a3a3a3a3a3a3a3a, AX // ':'
	MOVQ AX, X9
	VPBROADCASTQ X9, Y9
	MOVQ $0x0a0a0a0a0a0a0a0a, AX // '\n'
	MOVQ AX, X10
	VPBROADCASTQ X10, Y10
	MOVQ $0x5050505050505050, AX // 0x80-'0': a digit becomes 0x80..0x89
	MOVQ AX, X11
	VPBROADCASTQ X11, Y11
	MOVQ $0x8a8a8a8a8a8a8a8a, AX // int8 -118: digit iff -118 > x+0x50
	MOVQ AX, X12
	VPBROADCASTQ X12, Y12

loop32:
	TESTQ CX, CX
	JZ done32

	BLOCK32(0)
	MOVL AX, R11
	MOVL BX, R12
	MOVL DX, R13

	BLOCK32(32)
	SHLQ $32, AX
	SHLQ $32, BX
	SHLQ $32, DX
	ORQ AX, R11
	ORQ BX, R12
	ORQ DX, R13

	MOVQ R11, (R8)
	MOVQ R12, (R9)
	MOVQ R13, (R10)
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $8, R10
	DECQ CX
	JMP loop32

done32:
	VZEROUPPER
	RET

// func hasAVX2() bool: the processor has AVX2 and the system saves the
// YMM registers.
TEXT ·hasAVX2(SB), NOSPLIT, $0-1
	XORL AX, AX
	XORL CX, CX
	CPUID
	CMPL AX, $7
	JLT no
	MOVL $1, AX
	XORL CX, CX
	CPUID
	ANDL $0x18000000, CX // OSXSAVE and AVX
	CMPL CX, $0x18000000
	JNE no
	XORL CX, CX
	XGETBV
	ANDL $6, AX // XMM and YMM state
	CMPL AX, $6
	JNE no
	MOVL $7, AX
	XORL CX, CX
	CPUID
	ANDL $0x20, BX // AVX2
	JZ no
	MOVB $1, ret+0(FP)
	RET
no:
	MOVB $0, ret+0(FP)
	RET

// func newlinesAVX2(p *byte, words int, nl *uint64)
// Writes the newline mask of each of words 64-byte blocks at p.
TEXT ·newlinesAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ words+8(FP), CX
	MOVQ nl+16(FP), R10
	MOVQ $0x0a0a0a0a0a0a0a0a, AX // '\n'
	MOVQ AX, X10
	VPBROADCASTQ X10, Y10

nlloop32:
	TESTQ CX, CX
	JZ nldone32
	VPCMPEQB (SI), Y10, Y0
	VPCMPEQB 32(SI), Y10, Y1
	VPMOVMSKB Y0, AX
	VPMOVMSKB Y1, DX
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, (R10)
	ADDQ $64, SI
	ADDQ $8, R10
	DECQ CX
	JMP nlloop32

nldone32:
	VZEROUPPER
	RET

// func newlinesSSE2(p *byte, words int, nl *uint64)
TEXT ·newlinesSSE2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ words+8(FP), CX
	MOVQ nl+16(FP), R10
	MOVQ $0x0a0a0a0a0a0a0a0a, AX // '\n'
	MOVQ AX, X10
	PUNPCKLQDQ X10, X10

nlloop16:
	TESTQ CX, CX
	JZ nldone16
	MOVOU (SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	PCMPEQB X10, X0
	PCMPEQB X10, X1
	PCMPEQB X10, X2
	PCMPEQB X10, X3
	PMOVMSKB X0, AX
	PMOVMSKB X1, BX
	PMOVMSKB X2, DX
	PMOVMSKB X3, R11
	SHLQ $16, BX
	SHLQ $32, DX
	SHLQ $48, R11
	ORQ BX, AX
	ORQ DX, AX
	ORQ R11, AX
	MOVQ AX, (R10)
	ADDQ $64, SI
	ADDQ $8, R10
	DECQ CX
	JMP nlloop16

nldone16:
	RET
