CREATE TABLE placeholder(x int);
