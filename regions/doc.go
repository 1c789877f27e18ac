// Package regions holds Mimecast's published network ranges and the
// vocabulary to describe them: regions (grids), services, and the facts
// Mimecast publishes per region (account codes, SPF include names, URLs,
// ports).
//
// The dataset is a human-editable text file, ranges.txt, embedded in the
// package and parsed on first use (never at import time). Every row names a
// prefix, the regions that publish it, the service, whether it is active or
// retired history, the dates the sources show it, and the sources
// themselves. [Parse] reads the same format from any reader, so a refreshed
// or custom file can be loaded at run time with the same validation.
//
// # Regions and sets
//
// A [Region] is one grid: US (US A grid, account codes CUSA), USB (US B
// grid, CUSB), CA, EU (Europe excluding Germany, CUK), DE, AU, ZA, plus
// USPCOM and JE, for which Mimecast publishes no ranges, and Global for
// addresses published for every account. [ParseRegion] accepts tokens
// and account codes ("CUSA12A345" is US). A prefix can be published by
// several regions, so a [Range] carries a [Set].
//
// # Services
//
// [Gateway] ranges carry customers' mail; [NonSPF] ranges relay mail whose
// envelope sender is not an internal domain of the account; [Website] and
// [WebSecurity] addresses serve other products and send no mail.
//
// This is not an official Mimecast product.
package regions
