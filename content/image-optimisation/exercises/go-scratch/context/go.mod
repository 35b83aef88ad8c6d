module example.com/unitconv

go 1.19
