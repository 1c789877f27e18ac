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
