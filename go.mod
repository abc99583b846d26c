module github.com/vpce-guard/vpce-guard

go 1.26
